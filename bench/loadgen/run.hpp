#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <nlohmann/json.hpp>

#include "client.hpp"
#include "measure.hpp"
#include "options.hpp"

namespace sanctum::bench {

// The shared state of one run: the io_context every worker runs on, the
// time window that counts, and the CPU time of the measured processes at
// both ends of that window.
struct Run {
  Run(const Options& o, bool resume);

  const Options& options;
  boost::asio::io_context io{1};
  std::unique_ptr<boost::asio::ssl::context> tls;  // null with --plain
  Dialer dialer;

  Clock::time_point started;
  Clock::time_point measure_from;  // end of the warm-up
  Clock::time_point end;
  std::uint64_t operations = 0;    // requests, handshakes or streams inside the window
  std::uint64_t started_operations = 0;  // every one started, for the max_operations cap
  std::uint64_t errors = 0;

  ProcessCpu cpu;
  std::optional<double> cpu_start_us;
  std::optional<double> cpu_end_us;

  int workers_left = 0;
  std::exception_ptr failure;

  bool running() const {
    return Clock::now() < end && started_operations < options.max_operations;
  }
  bool measuring(Clock::time_point t) const { return t >= measure_from && t < end; }

  // Spawns the coroutine that samples CPU time at measure_from and end.
  void start_cpu_sampling();
  // Spawns `count` copies of make_worker(index) and runs the io_context
  // until every one has returned, with a hard stop 30 s after `end` in case
  // a peer stops responding. A worker that throws ends the run with that
  // exception.
  void run_workers(int count, const std::function<boost::asio::awaitable<void>(int)>& make_worker);
  // Adds "seconds", "operations", "errors", "rate_per_s" and, when pids
  // were given, "cpu_us" and "cpu_us_per_op" to `out`.
  void report(nlohmann::json& out) const;
};

nlohmann::json run_keepalive(const Options& options);
nlohmann::json run_handshake(const Options& options);
nlohmann::json run_sse(const Options& options);
nlohmann::json run_idle(const Options& options);

}  // namespace sanctum::bench
