#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace sanctum::ops {

enum class ServiceManager { launchd, systemd };

// The job a rendered definition runs. `server` is the gateway (`sanctum
// serve`), guardian, canary and parity are the `sanctum probe` modes, and
// ca_check is `sanctum ca check`.
enum class ServiceRole { server, guardian, canary, parity, ca_check };

// Deployment inputs of `sanctum service render`. Every path is written into
// the definition as given, so pass absolute paths: launchd and systemd
// start jobs with another working folder.
struct RenderOptions {
  ServiceManager manager = ServiceManager::launchd;
  ServiceRole role = ServiceRole::server;
  std::filesystem::path binary;       // the sanctum executable
  std::filesystem::path config;       // server: TOML config for `serve --config`
  std::filesystem::path cert_dir;     // CA state folder with ca.crt and clients/
  std::string client;                 // probes: client certificate name
  std::string url;                    // probes: gateway URL
  std::filesystem::path log_dir;      // probe logs and launchd stdout/stderr files
  bool no_plain = false;              // server: pass --no-plain
  std::filesystem::path prompts;      // parity: prompt file, empty to leave --prompts out
  std::string restart_command;        // guardian: command run to restart the server
};

struct RenderedFile {
  std::string name;     // file name, e.g. "com.sanctum.canary.plist" or "sanctum-canary.timer"
  std::string content;  // the bytes to write
};

// Parses "server", "guardian", "canary", "parity" or "ca-check".
Result<ServiceRole> parse_service_role(std::string_view text);
std::string to_string(ServiceRole role);

// The launchd label "com.sanctum.<role>".
std::string launchd_label(ServiceRole role);
// The systemd unit name without suffix, "sanctum-<role>".
std::string systemd_unit_stem(ServiceRole role);

// The command line a role runs, program first.
std::vector<std::string> role_command(const RenderOptions& options);

// Renders the definition files for one role: a launchd plist, or a systemd
// service plus, for canary, parity and ca-check, a timer. The same options
// always give the same bytes. Fails when an input the role needs is missing
// (the server's --config, a probe's --client, --url or --cert-dir) or when
// an input is given that the role does not use.
Result<std::vector<RenderedFile>> render_service(const RenderOptions& options);

}  // namespace sanctum::ops
