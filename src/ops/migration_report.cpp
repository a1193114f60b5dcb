#include "ops/migration_report.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

namespace sanctum::ops {

namespace {

// "127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "::1". Text without a
// port is returned as it is.
std::string address_of(const std::string& peer) {
  if (!peer.empty() && peer.front() == '[') {
    auto close = peer.find(']');
    return close == std::string::npos ? peer : peer.substr(1, close - 1);
  }
  if (std::count(peer.begin(), peer.end(), ':') == 1) {
    return peer.substr(0, peer.find(':'));
  }
  return peer;
}

std::string string_field(const nlohmann::json& record, const char* name) {
  auto it = record.find(name);
  return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool is_plain_listener_transport(const std::string& transport) {
  return transport == "plain-bearer" || transport == "plain-loopback" || transport == "plain-open";
}

bool Caller::uses_plain_listener() const {
  return std::any_of(transports.begin(), transports.end(), [](const auto& entry) {
    return is_plain_listener_transport(entry.first) && entry.second.accepted > 0;
  });
}

bool MigrationReport::plain_in_use() const {
  return std::any_of(callers.begin(), callers.end(),
                     [](const Caller& caller) { return caller.uses_plain_listener(); });
}

MigrationReport build_migration_report(std::istream& in, TimePoint since, TimePoint now) {
  MigrationReport report;
  report.now = now;
  report.since = since;
  std::map<std::pair<std::string, std::string>, Caller> callers;  // (kind, identity)
  std::string line;
  std::uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    ++report.lines;
    auto record = nlohmann::json::parse(line, nullptr, false);
    std::optional<TimePoint> time;
    std::string transport;
    if (record.is_object()) {
      time = parse_timestamp(string_field(record, "time"));
      transport = string_field(record, "transport");
    }
    if (!time || transport.empty()) {
      ++report.malformed;
      if (!report.first_malformed_line) {
        report.first_malformed_line = number;
      }
      continue;
    }
    if (*time < since) {
      ++report.before_window;
      continue;
    }
    ++report.in_window;
    std::string client = string_field(record, "client");
    bool by_client = transport == "mtls" && !client.empty();
    std::string kind = by_client ? "client" : "address";
    std::string identity = by_client ? client : address_of(string_field(record, "peer"));
    Caller& caller = callers[{kind, identity}];
    caller.kind = kind;
    caller.identity = identity;
    TransportUse& use = caller.transports[transport];
    use.last_seen = std::max(use.last_seen, *time);
    if (string_field(record, "outcome") == "rejected") {
      ++use.denied;
    } else {
      ++use.accepted;
    }
  }
  for (auto& [key, caller] : callers) {
    report.callers.push_back(std::move(caller));
  }
  std::stable_sort(report.callers.begin(), report.callers.end(),
                   [](const Caller& a, const Caller& b) {
                     return a.uses_plain_listener() && !b.uses_plain_listener();
                   });
  return report;
}

Result<MigrationReport> read_migration_report(const std::filesystem::path& access_log,
                                              TimePoint since, TimePoint now) {
  std::error_code ec;
  if (std::filesystem::is_directory(access_log, ec)) {
    return make_error(fmt::format("cannot read access log {}: it is a folder; give the file",
                                  access_log.string()));
  }
  std::ifstream in(access_log);
  if (!in) {
    return make_error(fmt::format("cannot open access log {}: {}", access_log.string(),
                                  std::strerror(errno)));
  }
  auto report = build_migration_report(in, since, now);
  if (in.bad()) {
    return make_error(fmt::format("cannot read access log {}: {}", access_log.string(),
                                  std::strerror(errno)));
  }
  return report;
}

nlohmann::ordered_json to_json(const MigrationReport& report) {
  nlohmann::ordered_json json;
  json["now"] = format_utc(report.now);
  json["since"] = format_utc(report.since);
  json["plain_in_use"] = report.plain_in_use();
  json["no_plain_safe"] = !report.plain_in_use() && report.in_window > 0;
  json["records_in_window"] = report.in_window;
  json["records_before_window"] = report.before_window;
  json["malformed_lines"] = report.malformed;
  json["first_malformed_line"] = report.first_malformed_line
                                     ? nlohmann::ordered_json(*report.first_malformed_line)
                                     : nlohmann::ordered_json(nullptr);
  json["callers"] = nlohmann::ordered_json::array();
  for (const auto& caller : report.callers) {
    nlohmann::ordered_json entry;
    entry["identity"] = caller.identity;
    entry["kind"] = caller.kind;
    entry["uses_plain_listener"] = caller.uses_plain_listener();
    entry["transports"] = nlohmann::ordered_json::object();
    for (const auto& [transport, use] : caller.transports) {
      entry["transports"][transport] = {{"last_seen", format_utc(use.last_seen)},
                                        {"accepted", use.accepted},
                                        {"denied", use.denied}};
    }
    json["callers"].push_back(std::move(entry));
  }
  return json;
}

}  // namespace sanctum::ops
