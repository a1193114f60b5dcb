#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace sanctum::cli {

void add_ca_command(CLI::App& app, int& exit_code) {
  app.add_subcommand("ca", "Manage the internal certificate authority");
}

}  // namespace sanctum::cli
