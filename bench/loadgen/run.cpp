#include "run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

namespace sanctum::bench {

namespace net = boost::asio;

Run::Run(const Options& o, bool resume) : options(o), cpu(o.cpu_pids) {
  if (!options.plain) {
    tls = make_client_context(options, resume);
  }
  dialer.endpoint = {net::ip::make_address(options.host), options.port};
  dialer.tls = tls.get();
  dialer.server_name = options.server_name;
  dialer.timeout = options.io_timeout;
  started = Clock::now();
  measure_from = started + options.warmup;
  end = measure_from + options.duration;
}

void Run::start_cpu_sampling() {
  if (cpu.empty()) {
    return;
  }
  net::co_spawn(
      io,
      [this]() -> net::awaitable<void> {
        net::steady_timer timer(io);
        timer.expires_at(measure_from);
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        cpu_start_us = cpu.total_us();
        timer.expires_at(end);
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        cpu_end_us = cpu.total_us();
      },
      net::detached);
}

void Run::run_workers(int count,
                      const std::function<net::awaitable<void>(int)>& make_worker) {
  net::steady_timer hard_stop(io);
  hard_stop.expires_at(end + std::chrono::seconds(30));
  hard_stop.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      io.stop();
    }
  });
  workers_left = count;
  for (int i = 0; i < count; ++i) {
    net::co_spawn(io, make_worker(i), [this, &hard_stop](std::exception_ptr error) {
      if (error && !failure) {
        failure = error;
      }
      if (--workers_left == 0) {
        hard_stop.cancel();
      }
    });
  }
  io.run();
  if (failure) {
    std::rethrow_exception(failure);
  }
}

void Run::report(nlohmann::json& out) const {
  double seconds = std::chrono::duration<double>(end - measure_from).count();
  out["seconds"] = seconds;
  out["operations"] = operations;
  out["errors"] = errors;
  out["rate_per_s"] = static_cast<double>(operations) / seconds;
  if (cpu_start_us && cpu_end_us) {
    double used = *cpu_end_us - *cpu_start_us;
    out["cpu_us"] = used;
    out["cpu_us_per_op"] = operations > 0 ? used / static_cast<double>(operations) : 0.0;
  }
}

}  // namespace sanctum::bench
