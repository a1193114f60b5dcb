#include <thread>
#include <vector>

#include <boost/system/system_error.hpp>

#include "run.hpp"

namespace sanctum::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
using net::awaitable;

namespace {

// Connections opened at once while filling up, so that the handshakes
// overlap without a burst of thousands of SYNs.
constexpr int kOpenConcurrency = 16;
// Connections opened and closed before the first RSS read, so that pools
// and caches the first connections fill are in the baseline.
constexpr int kWarmupConnections = 32;

struct HeldConnection {
  std::unique_ptr<TlsStream> stream;
  beast::flat_buffer buffer;
};

struct IdleState {
  explicit IdleState(Run& r) : run(r) {}

  Run& run;
  int target = 0;
  int opened = 0;  // connections that finished their request
  std::vector<HeldConnection> held;
  std::uint64_t non_200 = 0;
};

// Opens connections until `state.target` are held: each completes the
// handshake and one GET /v1/models, then stays open and silent.
awaitable<void> open_worker(IdleState& state) {
  Run& run = state.run;
  // Each pass claims one slot, so the loop ends after `target` attempts
  // even when connections fail.
  while (static_cast<int>(state.held.size()) < state.target) {
    state.held.emplace_back();
    std::size_t slot = state.held.size() - 1;
    try {
      auto stream = co_await connect_tls(run.dialer, nullptr);
      Request request = models_request();
      beast::flat_buffer buffer;
      unsigned status = co_await exchange(*stream, buffer, request, run.options.io_timeout);
      state.non_200 += status == 200 ? 0 : 1;
      state.held[slot].stream = std::move(stream);
      state.held[slot].buffer = std::move(buffer);
      ++state.opened;
    } catch (const boost::system::system_error&) {
      ++run.errors;
    }
  }
}

void open_connections(Run& run, IdleState& state, int count) {
  state.target = static_cast<int>(state.held.size()) + count;
  run.run_workers(kOpenConcurrency, [&](int) { return open_worker(state); });
  run.io.restart();
}

void close_all(IdleState& state) {
  for (auto& held : state.held) {
    if (held.stream) {
      beast::error_code ignored;
      beast::get_lowest_layer(*held.stream).socket().close(ignored);
    }
  }
  state.held.clear();
}

}  // namespace

nlohmann::json run_idle(const Options& options) {
  if (options.plain) {
    throw std::runtime_error("idle mode holds mTLS connections: drop --plain");
  }
  if (options.cpu_pids.empty()) {
    throw std::runtime_error("idle mode needs --pid of the server process(es) to read VmRSS");
  }
  Options unbounded = options;
  unbounded.duration = std::chrono::hours(1);  // the open phase ends by count, not time
  unbounded.warmup = std::chrono::milliseconds(0);
  Run run(unbounded, false);
  IdleState state(run);

  open_connections(run, state, kWarmupConnections);
  close_all(state);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::int64_t before = rss_kib(options.cpu_pids);

  state.opened = 0;
  open_connections(run, state, options.idle_connections);
  std::this_thread::sleep_for(options.hold);
  std::int64_t after = rss_kib(options.cpu_pids);
  int held = state.opened;
  close_all(state);

  nlohmann::json out;
  out["connections"] = held;
  out["errors"] = run.errors;
  out["non_200"] = state.non_200;
  out["rss_before_kib"] = before;
  out["rss_after_kib"] = after;
  out["rss_kib_per_connection"] =
      held > 0 ? static_cast<double>(after - before) / static_cast<double>(held) : 0.0;
  return out;
}

}  // namespace sanctum::bench
