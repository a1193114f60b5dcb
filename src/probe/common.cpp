#include "probe/common.hpp"

#include <iostream>

#include "obs/log.hpp"

namespace sanctum::probe {

client::Timeouts timeouts_for(Duration total) {
  client::Timeouts timeouts;
  timeouts.total = total;
  timeouts.first_byte = total;
  timeouts.idle = total;
  return timeouts;
}

std::optional<Prepared> prepare(const char* kind, const CommonOptions& options) {
  auto target = resolve_target(options.target);
  if (!target) {
    std::cerr << "sanctum probe " << kind << ": " << target.error().message << "\n";
    return std::nullopt;
  }
  auto client = load_client(*target);
  if (!client) {
    std::cerr << "sanctum probe " << kind << ": " << client.error().message << "\n";
    return std::nullopt;
  }
  auto log = ProbeLog::open(options.log_file);
  if (!log) {
    std::cerr << "sanctum probe " << kind << ": " << log.error().message << "\n";
    return std::nullopt;
  }
  return Prepared{std::move(*target), std::move(*log)};
}

void record_response(Record& record, const client::Response& response) {
  record["http_status"] = response.status == 0 ? Record() : Record(response.status);
  record["latency_ms"] = to_millis(response.timing.finished);
  record["tls_version"] = response.tls_version.empty() ? Record() : Record(response.tls_version);
  record["server_cert_sha256"] =
      response.server_cert_sha256.empty() ? Record() : Record(response.server_cert_sha256);
}

void log_outcome(const char* kind, const Record& record) {
  auto log = obs::logger("probe");
  if (record["ok"].get<bool>()) {
    log->info("{} {} ok in {} ms", kind, record["target"].get<std::string>(),
              record["latency_ms"].dump());
  } else {
    log->warn("{} {} failed: {}", kind, record["target"].get<std::string>(),
              record["error"].is_string() ? record["error"].get<std::string>() : "unknown error");
  }
  if (record.contains("warning")) {
    log->warn("{}", record["warning"].get<std::string>());
  }
}

}  // namespace sanctum::probe
