#include "cli/commands.hpp"

int main(int argc, char** argv) { return sanctum::cli::run(argc, argv); }
