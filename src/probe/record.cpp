#include "probe/record.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace sanctum::probe {

namespace {

constexpr long kSecondsPerDay = 24 * 60 * 60;

// ISO 8601 in UTC with milliseconds, e.g. 2026-04-22T03:00:00.123Z.
std::string utc_now_text() {
  auto now = std::chrono::system_clock::now();
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", parts, millis.count());
}

std::string utc_date_text(std::time_t when) {
  std::tm parts{};
  gmtime_r(&when, &parts);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", parts);
}

}  // namespace

long days_left(std::time_t not_after, std::time_t now) {
  long seconds = static_cast<long>(not_after - now);
  long days = seconds / kSecondsPerDay;
  if (seconds < 0 && seconds % kSecondsPerDay != 0) {
    --days;
  }
  return days;
}

std::optional<std::string> expiry_warning(const client::ClientCertificate& certificate,
                                          const std::string& client_name, std::time_t now,
                                          int warn_days) {
  long left = days_left(certificate.not_after, now);
  if (left >= warn_days) {
    return std::nullopt;
  }
  std::string name = client_name.empty() ? certificate.common_name : client_name;
  if (certificate.not_after <= now) {
    return fmt::format("client certificate {} expired at {}; renew it with `sanctum ca renew {}`",
                       name, utc_date_text(certificate.not_after), name);
  }
  return fmt::format(
      "client certificate {} expires in {} day(s), at {}; renew it with `sanctum ca renew {}`",
      name, left, utc_date_text(certificate.not_after), name);
}

Record start_record(const char* probe, const Target& target,
                    const client::ClientCertificate* certificate, int warn_days, bool with_ttft) {
  std::time_t now = std::time(nullptr);
  Record record;
  record["time"] = utc_now_text();
  record["probe"] = probe;
  record["target"] = target.url.text;
  record["transport"] = "mtls";
  std::string name = target.client_name;
  if (name.empty() && certificate != nullptr) {
    name = certificate->common_name;
  }
  record["client"] = name;
  record["client_serial"] = certificate != nullptr ? Record(certificate->serial_hex) : Record();
  record["client_days_left"] =
      certificate != nullptr ? Record(days_left(certificate->not_after, now)) : Record();
  record["ok"] = false;
  record["http_status"] = nullptr;
  record["latency_ms"] = nullptr;
  if (with_ttft) {
    record["ttft_ms"] = nullptr;
  }
  record["models"] = Record::array();
  record["error"] = nullptr;
  if (certificate != nullptr) {
    if (auto warning = expiry_warning(*certificate, name, now, warn_days)) {
      record["warning"] = *warning;
    }
  }
  return record;
}

double to_millis(std::chrono::steady_clock::duration duration) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
  return static_cast<double>(micros) / 1000.0;
}

Result<ProbeLog> ProbeLog::open(const std::string& path) {
  if (path.empty() || path == "-") {
    return ProbeLog(stdout, false);
  }
  std::FILE* file = std::fopen(path.c_str(), "ae");
  if (file == nullptr) {
    return make_error(
        fmt::format("cannot open log file {} for appending: {}", path, std::strerror(errno)));
  }
  return ProbeLog(file, true);
}

ProbeLog::ProbeLog(ProbeLog&& other) noexcept : file_(other.file_), owned_(other.owned_) {
  other.file_ = nullptr;
  other.owned_ = false;
}

ProbeLog::~ProbeLog() {
  if (owned_ && file_ != nullptr) {
    std::fclose(file_);
  }
}

void ProbeLog::write(const Record& record) {
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace sanctum::probe
