#pragma once

// Steps shared by the probe runners. Internal to src/probe.

#include <optional>
#include <string>

#include "client/mtls_client.hpp"
#include "probe/probe.hpp"
#include "probe/record.hpp"

namespace sanctum::probe {

// Request limits for one probe request: the connect and handshake phases
// keep their defaults, cut to `total`.
client::Timeouts timeouts_for(Duration total);

// Resolves the target, loads its client files and opens the log. Prints the
// error as "sanctum probe KIND: MESSAGE" on stderr and returns nothing on
// failure. No network traffic.
struct Prepared {
  Target target;
  ProbeLog log;
};
std::optional<Prepared> prepare(const char* kind, const CommonOptions& options);

// Fills http_status, latency_ms, tls_version and server_cert_sha256 from a
// response.
void record_response(Record& record, const client::Response& response);

// Logs the outcome of a run on stderr: info when ok, warn otherwise, plus
// the expiry warning when the record has one.
void log_outcome(const char* kind, const Record& record);

}  // namespace sanctum::probe
