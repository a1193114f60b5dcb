#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ops/service_files.hpp"
#include "util/result.hpp"

namespace sanctum::ops {

// One address a service definition would bind.
struct BindClaim {
  std::optional<std::string> host;  // IP literal or name; nullopt when the command gives none
  std::uint16_t port = 0;
  std::string evidence;             // where the address comes from, e.g. "--port 1337"
};

// The addresses a definition's command line would bind, as far as the
// arguments, environment and (for `sanctum serve --config`) config file tell.
struct CommandBinds {
  std::string program;  // "mlx_lm.server", "llama-server", "ollama serve", "sanctum serve",
                        // or the program's file name for any other command
  bool gateway = false;  // true for `sanctum serve`
  std::vector<BindClaim> claims;
  std::vector<std::string> notes;  // why an address could not be worked out
};

// Extracts the addresses that `argv` would bind:
// - `--port N`, `--host H`, `--listen ADDR:PORT` and `--bind ADDR[:PORT]`, in
//   the `--flag VALUE` and `--flag=VALUE` forms; a bind value may also be a
//   URL such as `http://0.0.0.0:1337`;
// - mlx_lm.server (`python -m mlx_lm.server` or the `mlx_lm.server` script)
//   and llama-server, whose defaults are 127.0.0.1 and port 8080;
// - `ollama serve` with OLLAMA_HOST from `environment` (default
//   127.0.0.1:11434);
// - `sanctum serve`: its --listen flags (default 127.0.0.1:1337) or the
//   listeners of its --config file, resolved against `base_dir` and read
//   when the file exists. Plain listeners are skipped with --no-plain or
//   `plain = false`.
// `/usr/bin/env VAR=VALUE CMD` and `sh -c "CMD"` wrappers are looked through.
// URLs given to other flags (a probe's --url, a gateway's --upstream) are
// targets, not binds, and are ignored.
CommandBinds extract_binds(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& environment,
                           const std::filesystem::path& base_dir);

// True when a socket bound to `claimed` would take `target`: same host,
// either host a wildcard (0.0.0.0 or ::), or a claim with no host.
// "localhost" counts as 127.0.0.1.
bool hosts_overlap(const std::optional<std::string>& claimed, const std::string& target);

// One definition that would bind the target address.
struct ConflictMatch {
  std::filesystem::path file;
  std::string program;
  BindClaim claim;
};

struct ConflictReport {
  std::string host;
  std::uint16_t port = 0;
  std::vector<ConflictMatch> conflicts;  // active definitions that are not the gateway
  std::vector<ConflictMatch> gateways;   // active `sanctum serve` definitions
  std::vector<ConflictMatch> disabled;   // renamed *.disabled[-SUFFIX], never loaded
  std::vector<std::string> notes;        // "FILE: note" for addresses not worked out
  std::vector<std::string> unread;       // "FILE: why" for definitions that could not be read

  // True when something other than one gateway would bind the address.
  bool has_conflict() const { return !conflicts.empty() || gateways.size() > 1; }
};

// Reads every plist (ProgramArguments or Program, EnvironmentVariables,
// Sockets) and systemd unit (ExecStart=, Environment=, ListenStream=) in
// `dir`, disabled copies included, and lists those that would bind
// `host`:`port`. Fails when the folder cannot be read. A definition that
// cannot be read or parsed, such as a binary plist, is listed in `unread`
// with the reason and the fix, and the scan goes on.
Result<ConflictReport> scan_conflicts(const std::filesystem::path& dir, const std::string& host,
                                      std::uint16_t port);

// Formats the report as text lines, conflicts first. The reasons in
// `unread` are left to the caller, which prints them as errors.
std::string format_conflict_report(const ConflictReport& report);
nlohmann::json conflict_report_json(const ConflictReport& report);

}  // namespace sanctum::ops
