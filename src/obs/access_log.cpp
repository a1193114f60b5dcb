#include "obs/access_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sanctum::obs {

std::string to_json_line(const AccessRecord& r) {
  nlohmann::ordered_json j;
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(r.time);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(r.time - seconds).count();
  j["time"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", seconds, millis);
  j["conn"] = r.connection_id;
  j["listener"] = r.listener;
  j["transport"] = r.transport;
  j["client"] = r.client;
  if (!r.client_serial.empty()) {
    j["client_serial"] = r.client_serial;
  }
  j["peer"] = r.peer;
  j["method"] = r.method;
  j["path"] = r.path;
  j["status"] = r.status;
  j["bytes_in"] = r.bytes_in;
  j["bytes_out"] = r.bytes_out;
  j["duration_ms"] = std::round(r.duration_ms * 1000) / 1000;
  if (r.upstream_ttfb_ms >= 0) {
    j["upstream_ttfb_ms"] = std::round(r.upstream_ttfb_ms * 1000) / 1000;
  } else {
    j["upstream_ttfb_ms"] = nullptr;
  }
  j["outcome"] = r.outcome;
  if (!r.error.empty()) {
    j["error"] = r.error;
  }
  // Replace invalid UTF-8 in client-supplied paths instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::shared_ptr<AccessLog>> AccessLog::open(const std::string& target) {
  if (target.empty()) {
    return std::shared_ptr<AccessLog>();
  }
  if (target == "-") {
    return std::shared_ptr<AccessLog>(new AccessLog(stdout, false));
  }
  int fd = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return make_error(fmt::format("cannot open access log {}: {}; check that its folder exists "
                                  "and is writable",
                                  target, std::strerror(errno)));
  }
  std::FILE* file = ::fdopen(fd, "a");
  if (file == nullptr) {
    ::close(fd);
    return make_error(fmt::format("cannot open access log {}: {}", target, std::strerror(errno)));
  }
  return std::shared_ptr<AccessLog>(new AccessLog(file, true));
}

AccessLog::~AccessLog() {
  if (owned_) {
    std::fclose(file_);
  } else {
    std::fflush(file_);
  }
}

void AccessLog::write(const AccessRecord& record) {
  std::string line = to_json_line(record);
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  // One flush per record: operators tail this file, and a crash must not
  // lose the lines of exchanges that already finished.
  std::fflush(file_);
}

}  // namespace sanctum::obs
