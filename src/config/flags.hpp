#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace sanctum::config {

// Values of the `sanctum serve` flags. Without --config they describe a
// config with one listener; with --config only the override flags apply.
struct ServeFlags {
  std::vector<std::string> listen;        // --listen ADDR:PORT, repeatable
  std::string cert;                       // --cert FILE
  std::string key;                        // --key FILE
  std::string client_ca;                  // --client-ca FILE
  std::string crl;                        // --crl FILE
  bool session_tickets = false;           // --session-tickets
  std::string upstream;                   // --upstream URL|echo
  std::vector<std::string> allow;         // --allow NAME, repeatable
  std::string auth_token_file;            // --auth-token-file FILE
  std::optional<std::string> access_log;  // --access-log FILE|-   (override)
  std::optional<int> threads;             // --threads N           (override)
  bool no_plain = false;                  // --no-plain            (override)
};

// Name of the listener that config_from_flags() builds.
inline constexpr const char* kFlagListenerName = "serve";

// Builds the config that the flags describe: one listener named "serve".
// It is a TLS listener with auth = "mtls", or, when --auth-token-file is
// given, a plain listener with auth = "bearer". Relative paths resolve
// against the working folder. Invalid addresses and URLs, and TLS flags
// next to --auth-token-file, are appended to `problems` with the flag name
// as key. Returns the Config only when this call appended no problem.
// Cross-field rules are left to validate().
Result<Config> config_from_flags(const ServeFlags& flags, std::vector<Problem>& problems);

// True when a flag that describes the listener is set. Those flags cannot be
// combined with --config.
bool has_listener_flags(const ServeFlags& flags);

// Applies --no-plain, --threads and --access-log to a config loaded from a
// file. Unset flags leave the config unchanged.
void apply_overrides(const ServeFlags& flags, Config& config);

}  // namespace sanctum::config
