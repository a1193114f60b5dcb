#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace sanctum::cli {

int run(int argc, char** argv) {
  CLI::App app{"sanctum: a mutual-TLS gateway for local OpenAI-compatible model servers"};
  app.set_version_flag("--version", std::string("sanctum ") + SANCTUM_VERSION);
  app.require_subcommand(1);

  int exit_code = 0;
  add_serve_command(app, exit_code);
  add_ca_command(app, exit_code);
  add_token_command(app, exit_code);
  add_migration_report_command(app, exit_code);
  add_verify_command(app, exit_code);
  add_service_command(app, exit_code);
  add_drift_command(app, exit_code);
  add_probe_command(app, exit_code);
  add_echo_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 returns 0 for --help and --version and a non-zero code otherwise;
    // usage errors map to 2 so scripts can tell them from a failed check.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace sanctum::cli
