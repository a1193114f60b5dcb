#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "util/result.hpp"

namespace sanctum::obs {

// One exchange as the access log records it. Bodies, Authorization headers
// and keys never reach this struct.
struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the request head was read
  std::uint64_t connection_id = 0;
  std::string listener;
  std::string transport;  // mtls, plain-bearer, plain-loopback, plain-open
  std::string client;     // verified client name, empty when there is none
  std::string client_serial;
  std::string peer;       // "ip:port" of the socket peer
  std::string method;
  std::string path;
  unsigned status = 0;    // 0 when no response was sent
  std::uint64_t bytes_in = 0;   // request body bytes
  std::uint64_t bytes_out = 0;  // response body bytes relayed to the client
  double duration_ms = 0;
  double upstream_ttfb_ms = -1;  // -1 when the upstream was not reached
  std::string outcome;  // complete, client-cancel, upstream-cut, timeout, rejected, error
  std::string error;    // short reason when outcome is not complete
};

// Writes one JSON object per line to a file or stdout. Thread-safe.
class AccessLog {
 public:
  // Opens `target`: a file path (appended to, created 0640), "-" for stdout,
  // or "" for no access log.
  static Result<std::shared_ptr<AccessLog>> open(const std::string& target);

  ~AccessLog();
  void write(const AccessRecord& record);

 private:
  explicit AccessLog(std::FILE* file, bool owned) : file_(file), owned_(owned) {}

  std::mutex mutex_;
  std::FILE* file_;
  bool owned_;
};

// Formats a record as a single-line JSON object (no trailing newline).
std::string to_json_line(const AccessRecord& record);

}  // namespace sanctum::obs
