#pragma once

// The JSON line each probe run appends to its log. Fields common to every
// probe, in this order: time, probe, target, transport, client,
// client_serial, client_days_left, ok, http_status, latency_ms, ttft_ms
// (canary only), models, error, and warning when the client certificate is
// close to expiry. Each probe appends its own fields after these.

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/mtls_client.hpp"
#include "probe/target.hpp"
#include "util/result.hpp"

namespace sanctum::probe {

using Record = nlohmann::ordered_json;

// Whole days from `now` until `not_after`, rounded down; negative once the
// certificate has expired.
long days_left(std::time_t not_after, std::time_t now);

// The expiry warning for a client certificate, or nothing when more than
// `warn_days` days are left.
std::optional<std::string> expiry_warning(const client::ClientCertificate& certificate,
                                          const std::string& client_name, std::time_t now,
                                          int warn_days);

// Starts a record with the common fields. `certificate` is null when the
// client files could not be loaded. `with_ttft` adds ttft_ms.
Record start_record(const char* probe, const Target& target,
                    const client::ClientCertificate* certificate, int warn_days, bool with_ttft);

// Milliseconds with microsecond precision, for latency fields.
double to_millis(std::chrono::steady_clock::duration duration);

// A JSON-lines file opened for appending, or stdout.
class ProbeLog {
 public:
  // Opens `path` for appending, creating it when missing; "" or "-" means
  // stdout. The error names the path.
  static Result<ProbeLog> open(const std::string& path);
  ProbeLog(ProbeLog&& other) noexcept;
  ProbeLog& operator=(ProbeLog&&) = delete;
  ~ProbeLog();

  // Appends `record` as one line and flushes. Invalid UTF-8 in answers is
  // replaced by U+FFFD so that the line is always valid JSON.
  void write(const Record& record);

 private:
  explicit ProbeLog(std::FILE* file, bool owned) : file_(file), owned_(owned) {}
  std::FILE* file_;
  bool owned_;
};

}  // namespace sanctum::probe
