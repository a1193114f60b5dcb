#include <boost/system/system_error.hpp>

#include "run.hpp"

namespace sanctum::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
using net::awaitable;

namespace {

struct KeepaliveState {
  explicit KeepaliveState(Run& r) : run(r) {}

  Run& run;
  Samples latency;
  std::uint64_t non_200 = 0;
};

// Sends GET /v1/models and a non-streaming chat completion in turn on one
// connection until the run ends or an I/O error occurs.
template <class Stream>
awaitable<void> send_requests(Stream& stream, KeepaliveState& state) {
  Run& run = state.run;
  beast::flat_buffer buffer;
  Request models = models_request();
  Request chat = chat_request("hello from the load generator", false, false);
  for (std::uint64_t i = 0; run.running(); ++i) {
    ++run.started_operations;
    auto start = Clock::now();
    unsigned status = co_await exchange(stream, buffer, i % 2 == 0 ? models : chat,
                                        run.options.io_timeout);
    auto done = Clock::now();
    if (!run.measuring(start)) {
      continue;
    }
    ++run.operations;
    state.latency.add(std::chrono::duration<double, std::micro>(done - start).count());
    if (status != 200) {
      ++state.non_200;
    }
  }
}

awaitable<void> keepalive_worker(KeepaliveState& state) {
  Run& run = state.run;
  while (run.running()) {
    try {
      if (run.options.plain) {
        auto stream = co_await connect_plain(run.dialer);
        co_await send_requests(stream, state);
      } else {
        auto stream = co_await connect_tls(run.dialer, nullptr);
        co_await send_requests(*stream, state);
      }
    } catch (const boost::system::system_error&) {
      // Reconnect; the failed request is counted, not retried.
      if (run.measuring(Clock::now())) {
        ++run.errors;
      }
    }
  }
}

}  // namespace

nlohmann::json run_keepalive(const Options& options) {
  Run run(options, false);
  KeepaliveState state(run);
  run.start_cpu_sampling();
  run.run_workers(options.connections, [&](int) { return keepalive_worker(state); });
  nlohmann::json out;
  run.report(out);
  out["non_200"] = state.non_200;
  out["latency_us"] = state.latency.summary();
  return out;
}

}  // namespace sanctum::bench
