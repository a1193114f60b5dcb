#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace sanctum::cli {

void add_serve_command(CLI::App& app, int& exit_code) {
  app.add_subcommand("serve", "Run the mutual-TLS gateway");
}

}  // namespace sanctum::cli
