#pragma once

#include <filesystem>
#include <string>

#include "config/config.hpp"

namespace sanctum::app {

struct RunOptions {
  // After every listener is bound, write a JSON file naming each bound
  // address and port (tests and scripts use it with port 0).
  std::filesystem::path ready_file;
  // How often watched TLS files are checked for changes.
  config::Duration watch_interval{2'000};
};

// Runs the gateway until SIGINT or SIGTERM has drained it. Returns the
// process exit code: 0 after a clean stop, 1 when start-up fails (the reason
// is printed on stderr and logged).
int run_gateway(config::Config config, const RunOptions& options);

// Validates everything a start would need without binding a port: config
// rules, certificates parse, key matches certificate, CA and CRL load, token
// files readable and private, upstream URLs valid. Prints the result and
// returns 0 when the config is usable, 1 otherwise.
int check_gateway(config::Config config);

}  // namespace sanctum::app
