#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace sanctum::bench {

using Clock = std::chrono::steady_clock;

// CLOCK_REALTIME in nanoseconds since the Unix epoch: the clock the echo
// upstream writes into "sanctum_emit_unix_ns", so the two can be subtracted.
std::int64_t unix_now_ns();

// Latency samples in microseconds. Percentiles use the nearest-rank method
// over all samples, so p99 of fewer than 100 samples is the maximum.
class Samples {
 public:
  void add(double microseconds) { values_.push_back(microseconds); }
  std::size_t size() const { return values_.size(); }
  double percentile(double p);
  double mean() const;

  // {"n", "mean", "p50", "p90", "p99", "max"}, all in microseconds.
  nlohmann::json summary();

 private:
  std::vector<double> values_;
  bool sorted_ = false;
};

// utime + stime of a set of processes from /proc/PID/stat, all threads
// included, in microseconds. The kernel counts in clock ticks (usually
// 10 ms), so a window should hold at least a few seconds of CPU time.
class ProcessCpu {
 public:
  explicit ProcessCpu(std::vector<int> pids) : pids_(std::move(pids)) {}

  bool empty() const { return pids_.empty(); }
  // Sum over the pids; throws std::runtime_error when one is unreadable.
  double total_us() const;

 private:
  std::vector<int> pids_;
};

// VmRSS of each pid from /proc/PID/status, summed, in KiB. Throws
// std::runtime_error when a pid is unreadable.
std::int64_t rss_kib(const std::vector<int>& pids);

}  // namespace sanctum::bench
