#include "obs/log.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>

namespace sanctum::obs {

namespace {

std::mutex registry_mutex;
std::atomic<spdlog::level::level_enum> current_level{spdlog::level::info};

spdlog::sink_ptr shared_sink() {
  static spdlog::sink_ptr sink = [] {
    auto s = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    s->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v");
    return s;
  }();
  return sink;
}

}  // namespace

bool setup_logging(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only accept "off" when asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return false;
  }
  std::lock_guard lock(registry_mutex);
  current_level.store(parsed, std::memory_order_relaxed);
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> l) { l->set_level(parsed); });
  return true;
}

std::shared_ptr<spdlog::logger> logger(const std::string& area) {
  std::lock_guard lock(registry_mutex);
  if (auto existing = spdlog::get(area)) {
    return existing;
  }
  auto created = std::make_shared<spdlog::logger>(area, shared_sink());
  created->set_level(current_level.load(std::memory_order_relaxed));
  created->flush_on(spdlog::level::trace);
  spdlog::register_logger(created);
  return created;
}

bool debug_enabled() {
  return current_level.load(std::memory_order_relaxed) <= spdlog::level::debug;
}

RateLimiter::RateLimiter(std::uint32_t per_interval, std::chrono::seconds interval)
    : per_interval_(per_interval),
      interval_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count()) {}

bool RateLimiter::allow(std::uint64_t& suppressed) {
  std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
  std::int64_t start = window_start_ns_.load(std::memory_order_relaxed);
  if (now - start >= interval_ns_ &&
      window_start_ns_.compare_exchange_strong(start, now, std::memory_order_relaxed)) {
    in_window_.store(0, std::memory_order_relaxed);
  }
  if (in_window_.fetch_add(1, std::memory_order_relaxed) < per_interval_) {
    suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace sanctum::obs
