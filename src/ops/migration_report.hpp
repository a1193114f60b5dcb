#pragma once

// Who still uses the plain listener, read from the gateway's JSON access
// log (one object per line, as obs::to_json_line writes them).

#include <cstdint>
#include <filesystem>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ops/time_text.hpp"
#include "util/result.hpp"

namespace sanctum::ops {

// The access-log transports that mean a request came in on a plain listener.
bool is_plain_listener_transport(const std::string& transport);

// One caller's use of one transport inside the report window.
struct TransportUse {
  TimePoint last_seen;
  std::uint64_t accepted = 0;  // records whose outcome is not "rejected"
  std::uint64_t denied = 0;    // records the gateway rejected (401, 403, failed handshake)
};

// One caller: an mTLS client name, or a source address for everything else.
struct Caller {
  std::string identity;  // client name, or the peer IP without its port
  std::string kind;      // "client" or "address"
  std::map<std::string, TransportUse> transports;  // keyed by access-log transport

  // True when this caller had a plain-listener request accepted.
  bool uses_plain_listener() const;
};

struct MigrationReport {
  TimePoint now;
  TimePoint since;                 // start of the window
  std::uint64_t lines = 0;         // non-empty lines read
  std::uint64_t in_window = 0;     // valid records at or after `since`
  std::uint64_t before_window = 0;
  std::uint64_t malformed = 0;     // lines that are not an access record
  std::optional<std::uint64_t> first_malformed_line;  // 1-based
  std::vector<Caller> callers;     // plain-listener users first, then by identity

  // True when a plain-listener request was accepted in the window, so
  // --no-plain would cut someone off.
  bool plain_in_use() const;
};

// Builds the report from access-log lines in `in`. A line that is not a JSON
// object with a parseable "time" and a "transport" string is counted as
// malformed and skipped.
MigrationReport build_migration_report(std::istream& in, TimePoint since, TimePoint now);

// Reads `access_log` and builds the report. Fails only when the file cannot
// be opened or read.
Result<MigrationReport> read_migration_report(const std::filesystem::path& access_log,
                                              TimePoint since, TimePoint now);

// The report as JSON, for `sanctum migration-report --json`.
nlohmann::ordered_json to_json(const MigrationReport& report);

}  // namespace sanctum::ops
