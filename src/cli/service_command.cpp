#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <system_error>

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "ca/ca.hpp"
#include "cli/commands.hpp"
#include "ops/drift.hpp"
#include "ops/service.hpp"
#include "ops/service_conflicts.hpp"
#include "util/fs.hpp"

namespace sanctum::cli {

namespace fs = std::filesystem;

namespace {

// Exit codes shared by drift and conflicts: 0 clean, 1 found, 2 bad input.
constexpr int kExitClean = 0;
constexpr int kExitFound = 1;
constexpr int kExitInvalid = 2;

struct RenderFlags {
  std::string manager;
  std::string role;
  std::string binary;
  std::string config;
  std::string cert_dir;
  std::string client;
  std::string url;
  std::string log_dir;
  bool no_plain = false;
  std::string prompts;
  std::string restart_command;
  std::string out;
};

struct ConflictFlags {
  std::string dir;
  std::string host = "127.0.0.1";
  int port = 1337;
  bool json = false;
};

struct DriftFlags {
  std::string deployed;
  std::string committed;
  bool json = false;
};

fs::path home_dir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return home;
  }
  if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr && entry->pw_dir != nullptr) {
    return entry->pw_dir;
  }
  return ".";
}

// Returns the absolute path of the running executable, or nothing when the
// OS does not tell.
std::optional<fs::path> running_binary() {
#if defined(__APPLE__)
  char buffer[4096];
  uint32_t size = sizeof(buffer);
  if (_NSGetExecutablePath(buffer, &size) == 0) {
    std::error_code ec;
    fs::path resolved = fs::canonical(buffer, ec);
    return ec ? fs::path(buffer) : resolved;
  }
  return std::nullopt;
#else
  std::error_code ec;
  fs::path resolved = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return std::nullopt;
  }
  return resolved;
#endif
}

fs::path absolute_path(const std::string& text) {
  std::error_code ec;
  fs::path path = fs::absolute(text, ec);
  return ec ? fs::path(text) : path.lexically_normal();
}

std::string default_client(ops::ServiceRole role) {
  switch (role) {
    case ops::ServiceRole::guardian:
      return "guardian";
    case ops::ServiceRole::canary:
      return "canary";
    case ops::ServiceRole::parity:
      return "parity-smoke";
    default:
      return "";
  }
}

Result<ops::RenderOptions> build_render_options(const RenderFlags& flags) {
  ops::RenderOptions options;
  options.manager =
      flags.manager == "systemd" ? ops::ServiceManager::systemd : ops::ServiceManager::launchd;
  auto role = ops::parse_service_role(flags.role);
  if (!role) {
    return role.error();
  }
  options.role = *role;
  bool probe = *role == ops::ServiceRole::guardian || *role == ops::ServiceRole::canary ||
               *role == ops::ServiceRole::parity;

  if (!flags.binary.empty()) {
    options.binary = absolute_path(flags.binary);
  } else if (auto binary = running_binary()) {
    options.binary = *binary;
  } else {
    return make_error("cannot find the path of the running sanctum binary: pass --binary PATH");
  }
  if (!flags.config.empty()) {
    options.config = absolute_path(flags.config);
  }
  options.cert_dir = flags.cert_dir.empty() ? ca::resolve_state_dir(std::nullopt).dir
                                            : absolute_path(flags.cert_dir);
  options.log_dir = flags.log_dir.empty() ? home_dir() / ".sanctum" / "logs"
                                          : absolute_path(flags.log_dir);
  options.client = flags.client.empty() && probe ? default_client(*role) : flags.client;
  options.url = flags.url.empty() && probe ? "https://127.0.0.1:1337" : flags.url;
  options.no_plain = flags.no_plain;
  if (!flags.prompts.empty()) {
    options.prompts = absolute_path(flags.prompts);
  }
  options.restart_command = flags.restart_command;
  return options;
}

int run_render(const RenderFlags& flags) {
  auto options = build_render_options(flags);
  if (!options) {
    std::cerr << "sanctum service render: " << options.error().message << "\n";
    return kExitInvalid;
  }
  auto files = ops::render_service(*options);
  if (!files) {
    std::cerr << "sanctum service render: " << files.error().message << "\n";
    return kExitInvalid;
  }
  if (flags.out.empty()) {
    for (const ops::RenderedFile& file : *files) {
      if (files->size() > 1) {
        std::cout << "==> " << file.name << " <==\n";
      }
      std::cout << file.content;
    }
    return 0;
  }
  std::error_code ec;
  fs::create_directories(flags.out, ec);
  if (ec) {
    std::cerr << "sanctum service render: cannot create " << flags.out << ": " << ec.message()
              << "\n";
    return 1;
  }
  for (const ops::RenderedFile& file : *files) {
    fs::path path = fs::path(flags.out) / file.name;
    auto written = util::write_file_atomic(path, file.content,
                                           fs::perms::owner_read | fs::perms::owner_write |
                                               fs::perms::group_read | fs::perms::others_read,
                                           true);
    if (!written) {
      std::cerr << "sanctum service render: " << written.error().message << "\n";
      return 1;
    }
    std::cout << "wrote " << path.string() << "\n";
  }
  return 0;
}

int run_conflicts(const ConflictFlags& flags) {
  auto report = ops::scan_conflicts(flags.dir, flags.host, static_cast<std::uint16_t>(flags.port));
  if (!report) {
    std::cerr << "sanctum service conflicts: " << report.error().message << "\n";
    return kExitInvalid;
  }
  for (const std::string& reason : report->unread) {
    std::cerr << "sanctum service conflicts: not checked: " << reason << "\n";
  }
  if (flags.json) {
    std::cout << ops::conflict_report_json(*report).dump(2) << "\n";
  } else {
    std::cout << ops::format_conflict_report(*report);
  }
  // A definition that could not be read might bind the port too, so a scan
  // without conflicts is only clean when it read everything.
  if (report->has_conflict()) {
    return kExitFound;
  }
  return report->unread.empty() ? kExitClean : kExitInvalid;
}

int run_drift(const DriftFlags& flags) {
  auto differences = ops::compare_definitions(flags.deployed, flags.committed);
  if (!differences) {
    std::cerr << "sanctum drift: " << differences.error().message << "\n";
    return kExitInvalid;
  }
  if (flags.json) {
    std::cout << ops::drift_report_json(*differences).dump(2) << "\n";
  } else if (differences->empty()) {
    std::cout << "no drift: " << flags.deployed << " matches " << flags.committed << "\n";
  } else {
    for (const ops::Difference& difference : *differences) {
      std::cout << ops::format_difference(difference) << "\n";
    }
  }
  return differences->empty() ? kExitClean : kExitFound;
}

void add_render_command(CLI::App& service, int& exit_code) {
  auto flags = std::make_shared<RenderFlags>();
  auto* render = service.add_subcommand(
      "render", "Write a launchd plist or systemd units that run sanctum in one role");
  render->add_option("--manager", flags->manager, "Service manager: launchd or systemd")
      ->required()
      ->check(CLI::IsMember({"launchd", "systemd"}));
  render->add_option("--role", flags->role,
                     "What the definition runs: server (sanctum serve), guardian, canary, "
                     "parity (sanctum probe) or ca-check (sanctum ca check)")
      ->required()
      ->check(CLI::IsMember({"server", "guardian", "canary", "parity", "ca-check"}));

  render->add_option("--binary", flags->binary,
                     "Path of the sanctum executable to run (default: this executable)");
  render->add_option("--config", flags->config, "server: TOML config passed to serve --config");
  render->add_option("--cert-dir", flags->cert_dir,
                     "CA state folder with ca.crt and clients/ (default: $SANCTUM_HOME, else "
                     "~/.sanctum/certs)");
  render->add_option("--client", flags->client,
                     "Probes: client certificate name (default: guardian, canary or "
                     "parity-smoke)");
  render->add_option("--url", flags->url, "Probes: gateway URL (default https://127.0.0.1:1337)");
  render->add_option("--log-dir", flags->log_dir,
                     "Folder for probe logs and launchd stdout/stderr files (default "
                     "~/.sanctum/logs)");
  render->add_flag("--no-plain", flags->no_plain,
                   "server: pass --no-plain, for the mTLS-only stage of the migration");
  render->add_option("--prompts", flags->prompts, "parity: prompt file for the parity probe");
  render->add_option("--restart-cmd", flags->restart_command,
                     "guardian: command the guardian runs to restart the server");

  render->add_option("--out", flags->out,
                     "Write the files into this folder instead of printing them");
  render->callback([flags, &exit_code] { exit_code = run_render(*flags); });
}

void add_conflicts_command(CLI::App& service, int& exit_code) {
  auto flags = std::make_shared<ConflictFlags>();
  auto* conflicts = service.add_subcommand(
      "conflicts",
      "List the service definitions in a folder that would bind the gateway's address. Exit "
      "0: none, 1: a conflict, 2: unreadable input");
  conflicts->add_option("--dir", flags->dir,
                        "Folder of launchd plists or systemd units, e.g. ~/Library/LaunchAgents")
      ->required();
  conflicts->add_option("--port", flags->port, "Gateway TCP port (default 1337)")
      ->check(CLI::Range(1, 65535));
  conflicts->add_option("--host", flags->host,
                        "Gateway address; 0.0.0.0 or :: match every address (default 127.0.0.1)");
  conflicts->add_flag("--json", flags->json, "Print the result as a JSON object");
  conflicts->callback([flags, &exit_code] { exit_code = run_conflicts(*flags); });
}

}  // namespace

void add_service_command(CLI::App& app, int& exit_code) {
  auto* service = app.add_subcommand("service", "Render and check launchd and systemd definitions");
  service->require_subcommand(1);
  add_render_command(*service, exit_code);
  add_conflicts_command(*service, exit_code);
}

void add_drift_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<DriftFlags>();
  auto* drift = app.add_subcommand(
      "drift",
      "Compare a deployed service definition (or folder of them) with the committed one. Exit "
      "0: same, 1: drift, 2: unreadable or malformed input");
  drift->add_option("DEPLOYED", flags->deployed, "Deployed plist or unit file, or folder")
      ->required();
  drift->add_option("COMMITTED", flags->committed, "Committed plist or unit file, or folder")
      ->required();
  drift->add_flag("--json", flags->json,
                  "Print {\"drift\": bool, \"differences\": [...]} instead of text");
  drift->callback([flags, &exit_code] { exit_code = run_drift(*flags); });
}

}  // namespace sanctum::cli
