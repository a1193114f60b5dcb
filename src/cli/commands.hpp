#pragma once

namespace CLI {
class App;
}

namespace sanctum::cli {

// Each add_*_command registers a subcommand on `app`. Its callback runs the
// command and stores the process exit code in `exit_code`.
void add_serve_command(CLI::App& app, int& exit_code);
void add_ca_command(CLI::App& app, int& exit_code);
void add_token_command(CLI::App& app, int& exit_code);
void add_migration_report_command(CLI::App& app, int& exit_code);
void add_verify_command(CLI::App& app, int& exit_code);
void add_service_command(CLI::App& app, int& exit_code);
void add_drift_command(CLI::App& app, int& exit_code);
void add_probe_command(CLI::App& app, int& exit_code);
void add_echo_command(CLI::App& app, int& exit_code);

// Parses argv, runs the chosen command and returns the process exit code.
int run(int argc, char** argv);

}  // namespace sanctum::cli
