#include <fmt/format.h>

#include "ops/plist.hpp"
#include "ops/service.hpp"
#include "ops/unit_file.hpp"

namespace sanctum::ops {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kGuardianInterval = "30s";
constexpr std::int64_t kCanaryIntervalSeconds = 600;
constexpr std::int64_t kParityHour = 3;
constexpr std::string_view kCaWarnDays = "30";

bool is_probe(ServiceRole role) {
  return role == ServiceRole::guardian || role == ServiceRole::canary ||
         role == ServiceRole::parity;
}

// Server and guardian run all the time; the others run on a schedule.
bool is_long_running(ServiceRole role) {
  return role == ServiceRole::server || role == ServiceRole::guardian;
}

std::string description(ServiceRole role) {
  switch (role) {
    case ServiceRole::server:
      return "sanctum mutual-TLS gateway";
    case ServiceRole::guardian:
      return "sanctum guardian probe (checks the gateway every 30 s)";
    case ServiceRole::canary:
      return "sanctum canary probe (one completion through the gateway)";
    case ServiceRole::parity:
      return "sanctum parity probe (nightly comparison of fixed prompts)";
    case ServiceRole::ca_check:
      return "sanctum CA expiry check";
  }
  return "sanctum";
}

Result<void> check_inputs(const RenderOptions& options) {
  ServiceRole role = options.role;
  auto reject = [&](std::string_view flag, std::string_view roles) -> Result<void> {
    return make_error(fmt::format("{} does not apply to --role {}: it is used by {} only", flag,
                                  to_string(role), roles));
  };
  if (options.binary.empty()) {
    return make_error("missing --binary: give the absolute path of the sanctum executable");
  }

  if (role == ServiceRole::server && options.config.empty()) {
    return make_error("missing --config: --role server runs `sanctum serve --config FILE`");
  }
  if (role != ServiceRole::server && !options.config.empty()) {
    return reject("--config", "--role server");
  }
  if (role != ServiceRole::server && options.no_plain) {
    return reject("--no-plain", "--role server");
  }
  if (role != ServiceRole::parity && !options.prompts.empty()) {
    return reject("--prompts", "--role parity");
  }
  if (role != ServiceRole::guardian && !options.restart_command.empty()) {
    return reject("--restart-cmd", "--role guardian");
  }

  if (is_probe(role)) {
    if (options.client.empty()) {
      return make_error("missing --client: the probe needs a client certificate name");
    }
    if (options.url.empty()) {
      return make_error("missing --url: the probe needs the gateway URL");
    }
  } else if (!options.client.empty() || !options.url.empty()) {
    return reject(options.client.empty() ? "--url" : "--client",
                  "--role guardian, canary and parity");
  }

  if ((is_probe(role) || role == ServiceRole::ca_check) && options.cert_dir.empty()) {
    return make_error("missing --cert-dir: give the CA state folder");
  }
  if (options.log_dir.empty()) {
    return make_error("missing --log-dir: give the folder for log files");
  }
  return {};
}

std::string log_file(const RenderOptions& options, std::string_view suffix) {
  return (options.log_dir / fmt::format("{}{}", to_string(options.role), suffix)).string();
}

PlistValue calendar_interval(std::int64_t hour) {
  PlistValue interval = PlistValue::make_dict();
  interval.set("Hour", PlistValue::make_integer(hour));
  interval.set("Minute", PlistValue::make_integer(0));
  return interval;
}

std::string render_plist(const RenderOptions& options) {
  PlistValue plist = PlistValue::make_dict();
  plist.set("Label", PlistValue::make_string(launchd_label(options.role)));
  std::vector<PlistValue> arguments;
  for (const std::string& argument : role_command(options)) {
    arguments.push_back(PlistValue::make_string(argument));
  }
  plist.set("ProgramArguments", PlistValue::make_array(std::move(arguments)));
  // A parity run loads the model with fixed prompts, so it waits for its
  // nightly slot instead of also running at every login.
  plist.set("RunAtLoad", PlistValue::make_boolean(options.role != ServiceRole::parity));
  if (is_long_running(options.role)) {
    plist.set("KeepAlive", PlistValue::make_boolean(true));
  }
  if (options.role == ServiceRole::canary) {
    plist.set("StartInterval", PlistValue::make_integer(kCanaryIntervalSeconds));
  }
  if (options.role == ServiceRole::parity) {
    plist.set("StartCalendarInterval", calendar_interval(kParityHour));
  }
  if (options.role == ServiceRole::ca_check) {
    plist.set("StartCalendarInterval", calendar_interval(0));
  }
  plist.set("StandardOutPath", PlistValue::make_string(log_file(options, ".stdout.log")));
  plist.set("StandardErrorPath", PlistValue::make_string(log_file(options, ".stderr.log")));
  return write_plist(plist);
}

// Quotes a path for ReadWritePaths=, where systemd expands `%` specifiers
// but not `$` variables.
std::string quote_unit_path(const fs::path& path) {
  std::string out;
  for (char c : path.string()) {
    if (c == '%') {
      out += "%%";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  bool needs_quotes = out.find_first_of(" \t\"\\") != std::string::npos;
  return needs_quotes ? "\"" + out + "\"" : out;
}

void add(UnitSection& section, std::string key, std::string value) {
  section.assignments.push_back(UnitAssignment{std::move(key), std::move(value), "", 0});
}

// Sandboxing that the gateway and probes run under. They need TCP and Unix
// sockets, read the config and certificates, and write only logs. The
// certificate folder stays read-only: it also contains the CA key, which no
// service role needs to change.
void add_hardening(UnitSection& service, const RenderOptions& options) {
  add(service, "NoNewPrivileges", "yes");
  add(service, "PrivateTmp", "yes");
  add(service, "PrivateDevices", "yes");
  add(service, "ProtectSystem", "strict");
  add(service, "ProtectHome", "read-only");
  add(service, "ReadWritePaths", quote_unit_path(options.log_dir));
  add(service, "ProtectKernelTunables", "yes");
  add(service, "ProtectKernelModules", "yes");
  add(service, "ProtectKernelLogs", "yes");
  add(service, "ProtectControlGroups", "yes");
  add(service, "ProtectClock", "yes");
  add(service, "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX");
  add(service, "RestrictNamespaces", "yes");
  add(service, "RestrictRealtime", "yes");
  add(service, "RestrictSUIDSGID", "yes");
  add(service, "LockPersonality", "yes");
  add(service, "MemoryDenyWriteExecute", "yes");
  add(service, "SystemCallArchitectures", "native");
  add(service, "UMask", "0077");
}

std::string exec_line(const RenderOptions& options) {
  std::string line;
  for (const std::string& argument : role_command(options)) {
    if (!line.empty()) {
      line += ' ';
    }
    line += quote_exec_argument(argument);
  }
  return line;
}

std::string render_service_unit(const RenderOptions& options) {
  UnitFile unit;
  add(unit.section("Unit"), "Description", description(options.role));
  UnitSection& service = unit.section("Service");
  add(service, "Type", is_long_running(options.role) ? "simple" : "oneshot");
  add(service, "ExecStart", exec_line(options));
  if (options.role == ServiceRole::server) {
    // `systemctl reload` then reloads certificates, CA bundle and CRL.
    add(service, "ExecReload", "/bin/kill -HUP $MAINPID");
  }
  if (is_long_running(options.role)) {
    add(service, "Restart", "on-failure");
    add(service, "RestartSec", "5s");
  }
  add_hardening(service, options);
  if (is_long_running(options.role)) {
    add(unit.section("Install"), "WantedBy", "default.target");
  }
  return write_unit(unit);
}

std::string render_timer_unit(const RenderOptions& options) {
  UnitFile unit;
  std::string stem = systemd_unit_stem(options.role);
  add(unit.section("Unit"), "Description", fmt::format("Schedule {}.service", stem));
  UnitSection& timer = unit.section("Timer");
  switch (options.role) {
    case ServiceRole::canary:
      add(timer, "OnCalendar", "*:0/10");
      break;
    case ServiceRole::parity:
      add(timer, "OnCalendar", fmt::format("*-*-* {:02}:00:00", kParityHour));
      add(timer, "Persistent", "true");
      break;
    default:
      add(timer, "OnCalendar", "daily");
      add(timer, "Persistent", "true");
      break;
  }
  add(timer, "Unit", stem + ".service");
  add(unit.section("Install"), "WantedBy", "timers.target");
  return write_unit(unit);
}

}  // namespace

Result<ServiceRole> parse_service_role(std::string_view text) {
  for (ServiceRole role : {ServiceRole::server, ServiceRole::guardian, ServiceRole::canary,
                           ServiceRole::parity, ServiceRole::ca_check}) {
    if (text == to_string(role)) {
      return role;
    }
  }
  return make_error(fmt::format(
      "invalid role \"{}\": use server, guardian, canary, parity or ca-check", text));
}

std::string to_string(ServiceRole role) {
  switch (role) {
    case ServiceRole::server:
      return "server";
    case ServiceRole::guardian:
      return "guardian";
    case ServiceRole::canary:
      return "canary";
    case ServiceRole::parity:
      return "parity";
    case ServiceRole::ca_check:
      return "ca-check";
  }
  return "unknown";
}

std::string launchd_label(ServiceRole role) { return "com.sanctum." + to_string(role); }

std::string systemd_unit_stem(ServiceRole role) { return "sanctum-" + to_string(role); }

std::vector<std::string> role_command(const RenderOptions& options) {
  std::vector<std::string> argv = {options.binary.string()};
  if (options.role == ServiceRole::server) {
    argv.insert(argv.end(), {"serve", "--config", options.config.string()});
    if (options.no_plain) {
      argv.push_back("--no-plain");
    }
    return argv;
  }
  if (options.role == ServiceRole::ca_check) {
    argv.insert(argv.end(),
                {"ca", "check", "--warn-days", std::string(kCaWarnDays), "--dir",
                 options.cert_dir.string()});
    return argv;
  }
  argv.insert(argv.end(), {"probe", to_string(options.role), "--url", options.url, "--cert-dir",
                           options.cert_dir.string(), "--client", options.client, "--log",
                           log_file(options, ".log")});
  if (options.role == ServiceRole::guardian) {
    argv.insert(argv.end(), {"--every", std::string(kGuardianInterval)});
    if (!options.restart_command.empty()) {
      argv.insert(argv.end(), {"--restart-cmd", options.restart_command});
    }
  } else {
    argv.push_back("--once");
  }
  if (options.role == ServiceRole::parity && !options.prompts.empty()) {
    argv.insert(argv.end(), {"--prompts", options.prompts.string()});
  }
  return argv;
}

Result<std::vector<RenderedFile>> render_service(const RenderOptions& options) {
  if (auto checked = check_inputs(options); !checked) {
    return checked.error();
  }
  if (options.manager == ServiceManager::launchd) {
    return std::vector<RenderedFile>{
        {launchd_label(options.role) + ".plist", render_plist(options)}};
  }
  std::string stem = systemd_unit_stem(options.role);
  std::vector<RenderedFile> files = {{stem + ".service", render_service_unit(options)}};
  if (!is_long_running(options.role)) {
    files.push_back({stem + ".timer", render_timer_unit(options)});
  }
  return files;
}

}  // namespace sanctum::ops
