#include "ops/service_conflicts.hpp"

#include <fmt/format.h>

#include "ops/unit_file.hpp"

namespace sanctum::ops {

namespace {

namespace fs = std::filesystem;

std::string claim_address(const BindClaim& claim) {
  std::string host = claim.host.value_or("*");
  if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";
  }
  return fmt::format("{}:{}", host, claim.port);
}

// launchd socket activation: Sockets → NAME → dict or array of dicts with
// SockNodeName (host, absent for every address) and SockServiceName (port).
void plist_socket_binds(const PlistValue& sockets, CommandBinds& binds) {
  auto add_listener = [&](const std::string& name, const PlistValue& listener) {
    const PlistValue* service = listener.find("SockServiceName");
    if (service == nullptr || listener.find("SockPathName") != nullptr) {
      return;
    }
    std::string port_text = service->type == PlistValue::Type::integer
                                ? std::to_string(service->integer)
                                : service->text;
    unsigned port = 0;
    try {
      port = static_cast<unsigned>(std::stoul(port_text));
    } catch (const std::exception&) {
      binds.notes.push_back(fmt::format("Sockets.{}: service name \"{}\" is not a port number",
                                        name, port_text));
      return;
    }
    if (port == 0 || port > 65535) {
      return;
    }
    const PlistValue* node = listener.find("SockNodeName");
    std::optional<std::string> host =
        node != nullptr ? node->text : std::optional<std::string>("::");
    binds.claims.push_back(BindClaim{host, static_cast<std::uint16_t>(port),
                                     fmt::format("Sockets.{} (launchd socket)", name)});
  };
  for (const PlistEntry& entry : sockets.dict) {
    if (entry.value.type == PlistValue::Type::dict) {
      add_listener(entry.key, entry.value);
    } else if (entry.value.type == PlistValue::Type::array) {
      for (const PlistValue& listener : entry.value.array) {
        add_listener(entry.key, listener);
      }
    }
  }
}

CommandBinds plist_binds(const PlistValue& plist, const fs::path& file) {
  std::vector<std::string> argv;
  if (const PlistValue* arguments = plist.find("ProgramArguments")) {
    for (const PlistValue& argument : arguments->array) {
      argv.push_back(argument.text);
    }
  } else if (const PlistValue* program = plist.find("Program")) {
    argv.push_back(program->text);
  }
  std::map<std::string, std::string> environment;
  if (const PlistValue* variables = plist.find("EnvironmentVariables")) {
    for (const PlistEntry& entry : variables->dict) {
      environment[entry.key] = entry.value.text;
    }
  }
  fs::path base_dir = file.parent_path();
  if (const PlistValue* working = plist.find("WorkingDirectory")) {
    base_dir = working->text;
  }
  CommandBinds binds = extract_binds(argv, environment, base_dir);
  if (const PlistValue* sockets = plist.find("Sockets")) {
    plist_socket_binds(*sockets, binds);
  }
  return binds;
}

CommandBinds unit_binds(const UnitFile& unit, const fs::path& file) {
  std::map<std::string, std::string> environment;
  for (const std::string& line : unit.values("Service", "Environment")) {
    for (const std::string& assignment : split_command_line(line)) {
      std::size_t equals = assignment.find('=');
      if (equals != std::string::npos) {
        environment[assignment.substr(0, equals)] = assignment.substr(equals + 1);
      }
    }
  }
  fs::path base_dir = file.parent_path();
  if (auto working = unit.values("Service", "WorkingDirectory"); !working.empty()) {
    base_dir = working.back();
  }
  CommandBinds binds;
  for (const std::string& exec : unit.values("Service", "ExecStart")) {
    CommandBinds found = extract_binds(split_command_line(exec), environment, base_dir);
    if (binds.program.empty()) {
      binds.program = found.program;
      binds.gateway = found.gateway;
    }
    binds.claims.insert(binds.claims.end(), found.claims.begin(), found.claims.end());
    binds.notes.insert(binds.notes.end(), found.notes.begin(), found.notes.end());
  }
  for (const std::string& listen : unit.values("Socket", "ListenStream")) {
    if (listen.starts_with("/") || listen.starts_with("@")) {
      continue;
    }
    if (binds.program.empty()) {
      binds.program = "socket unit";
    }
    std::string value = listen;
    std::size_t colon = value.rfind(':');
    std::optional<std::string> host = "::";
    std::string port_text = value;
    if (colon != std::string::npos) {
      host = value.substr(0, colon);
      if (host->size() > 2 && host->front() == '[') {
        host = host->substr(1, host->size() - 2);
      }
      port_text = value.substr(colon + 1);
    }
    try {
      unsigned long port = std::stoul(port_text);
      if (port > 0 && port <= 65535) {
        binds.claims.push_back(
            BindClaim{host, static_cast<std::uint16_t>(port), "ListenStream=" + listen});
      }
    } catch (const std::exception&) {
      binds.notes.push_back(fmt::format("ListenStream=\"{}\" has no port number", listen));
    }
  }
  return binds;
}

nlohmann::json match_json(const ConflictMatch& match) {
  return {{"file", match.file.string()},
          {"program", match.program},
          {"address", claim_address(match.claim)},
          {"evidence", match.claim.evidence}};
}

}  // namespace

Result<ConflictReport> scan_conflicts(const fs::path& dir, const std::string& host,
                                      std::uint16_t port) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return make_error(fmt::format("{}: not a folder", dir.string()));
  }
  auto files = list_definitions(dir, true);
  if (!files) {
    return files.error();
  }
  ConflictReport report{host, port, {}, {}, {}, {}, {}};
  for (const DefinitionFile& file : *files) {
    auto definition = read_definition(file.path, file.format);
    if (!definition) {
      report.unread.push_back(definition.error().message);
      continue;
    }
    CommandBinds binds = std::holds_alternative<PlistValue>(*definition)
                             ? plist_binds(std::get<PlistValue>(*definition), file.path)
                             : unit_binds(std::get<UnitFile>(*definition), file.path);
    for (const std::string& note : binds.notes) {
      report.notes.push_back(fmt::format("{}: {}", file.path.string(), note));
    }
    for (const BindClaim& claim : binds.claims) {
      if (claim.port != port || !hosts_overlap(claim.host, host)) {
        continue;
      }
      ConflictMatch match{file.path, binds.program, claim};
      if (file.disabled) {
        report.disabled.push_back(std::move(match));
      } else if (binds.gateway) {
        report.gateways.push_back(std::move(match));
      } else {
        report.conflicts.push_back(std::move(match));
      }
    }
  }
  return report;
}

std::string format_conflict_report(const ConflictReport& report) {
  std::string target = claim_address(BindClaim{report.host, report.port, ""});
  std::string out;
  auto add_lines = [&](std::string_view label, const std::vector<ConflictMatch>& matches) {
    for (const ConflictMatch& match : matches) {
      out += fmt::format("{}: {}: {} binds {} ({})\n", label, match.file.string(), match.program,
                         claim_address(match.claim), match.claim.evidence);
    }
  };
  add_lines("conflict", report.conflicts);
  if (report.gateways.size() > 1) {
    add_lines("conflict", report.gateways);
  } else {
    add_lines("gateway", report.gateways);
  }
  add_lines("disabled (harmless)", report.disabled);
  for (const std::string& note : report.notes) {
    out += fmt::format("note: {}\n", note);
  }
  std::size_t count = report.conflicts.size() + (report.gateways.size() > 1 ? report.gateways.size() : 0);
  std::string unread;
  if (!report.unread.empty()) {
    unread = fmt::format("; {} definition(s) could not be read and were not checked",
                         report.unread.size());
  }
  if (count == 0) {
    out += fmt::format("no active definition other than the gateway binds {}{}\n", target, unread);
  } else {
    out += fmt::format("{} active definition(s) would take {} from the gateway{}\n", count, target,
                       unread);
  }
  return out;
}

nlohmann::json conflict_report_json(const ConflictReport& report) {
  auto list = [](const std::vector<ConflictMatch>& matches) {
    nlohmann::json items = nlohmann::json::array();
    for (const ConflictMatch& match : matches) {
      items.push_back(match_json(match));
    }
    return items;
  };
  return {{"target", claim_address(BindClaim{report.host, report.port, ""})},
          {"conflict", report.has_conflict()},
          {"conflicts", list(report.conflicts)},
          {"gateways", list(report.gateways)},
          {"disabled", list(report.disabled)},
          {"notes", report.notes},
          {"unread", report.unread}};
}

}  // namespace sanctum::ops
