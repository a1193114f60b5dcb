#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace sanctum::obs {

// Sets up the process log on stderr: one line per event, ISO-8601 time,
// level and area, e.g. "2026-12-04T20:11:00.123+0000 info [serve] ready".
// Returns false when `level` is not one of trace, debug, info, warn, error, off.
bool setup_logging(const std::string& level);

// Returns the named logger for an area ("serve", "tls", "proxy", "auth",
// "config", "reload", "echo"), creating it on first use.
std::shared_ptr<spdlog::logger> logger(const std::string& area);

// True when the process log level lets debug lines through. A relaxed atomic
// read, for hot paths that would otherwise build a line's parts for nothing.
bool debug_enabled();

// Lets at most `per_interval` events through per interval and counts the
// rest, so that log lines caused by clients cannot flood the log.
// Thread-safe.
class RateLimiter {
 public:
  RateLimiter(std::uint32_t per_interval, std::chrono::seconds interval);

  // Returns true when this event may be logged. When it returns true after a
  // quiet period, `suppressed` receives how many events were dropped since.
  bool allow(std::uint64_t& suppressed);

 private:
  std::uint32_t per_interval_;
  std::int64_t interval_ns_;
  std::atomic<std::int64_t> window_start_ns_{0};
  std::atomic<std::uint32_t> in_window_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace sanctum::obs
