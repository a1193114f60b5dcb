#include <charconv>
#include <string_view>

#include <boost/system/system_error.hpp>

#include "run.hpp"

namespace sanctum::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using net::awaitable;
using net::use_awaitable;

namespace {

constexpr std::string_view kStampKey = "\"sanctum_emit_unix_ns\":";

struct SseState {
  explicit SseState(Run& r) : run(r) {}

  Run& run;
  Samples first_event;  // request write start to first event read, per stream
  Samples added;        // read time minus emit time, per event
  std::uint64_t events = 0;
  std::uint64_t non_200 = 0;
};

// Finds every complete emit stamp in body[from, end) and calls
// on_stamp(value) for each. Returns the offset to resume from: the start of
// a stamp whose digits may still be arriving.
template <class OnStamp>
std::size_t scan_stamps(std::string_view body, std::size_t from, OnStamp on_stamp) {
  for (;;) {
    std::size_t key = body.find(kStampKey, from);
    if (key == std::string_view::npos) {
      // Keep a tail that could be the start of a key cut by the read.
      return body.size() > kStampKey.size() ? std::max(from, body.size() - kStampKey.size())
                                            : from;
    }
    std::size_t digits = key + kStampKey.size();
    std::size_t stop = body.find_first_not_of("0123456789", digits);
    if (stop == std::string_view::npos) {
      return key;
    }
    std::int64_t value = 0;
    std::from_chars(body.data() + digits, body.data() + stop, value);
    on_stamp(value);
    from = stop;
  }
}

// Sends one streamed chat completion and reads it to the end, stamping
// each read with the wall clock as it completes.
template <class Stream>
awaitable<void> read_one_stream(Stream& stream, beast::flat_buffer& buffer, Request& request,
                                SseState& state) {
  Run& run = state.run;
  auto& tcp = beast::get_lowest_layer(stream);
  auto start = Clock::now();
  std::int64_t sent_ns = unix_now_ns();
  tcp.expires_after(run.options.io_timeout);
  co_await http::async_write(stream, request, use_awaitable);

  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  tcp.expires_after(run.options.io_timeout);
  co_await http::async_read_header(stream, buffer, parser, use_awaitable);
  bool counted = run.measuring(start);
  if (parser.get().result_int() != 200) {
    state.non_200 += counted ? 1 : 0;
  }
  std::size_t scanned = 0;
  bool first = true;
  while (!parser.is_done()) {
    tcp.expires_after(run.options.io_timeout);
    co_await http::async_read_some(stream, buffer, parser, use_awaitable);
    std::int64_t arrived_ns = unix_now_ns();
    scanned = scan_stamps(parser.get().body(), scanned, [&](std::int64_t emitted_ns) {
      if (!counted) {
        return;
      }
      if (first) {
        state.first_event.add(static_cast<double>(arrived_ns - sent_ns) / 1000.0);
        first = false;
      }
      state.added.add(static_cast<double>(arrived_ns - emitted_ns) / 1000.0);
      ++state.events;
    });
  }
  if (counted) {
    ++run.operations;
  }
}

std::string prompt_of(int words) {
  std::string text;
  for (int i = 0; i < words; ++i) {
    text += (i == 0 ? "w" : " w") + std::to_string(i);
  }
  return text;
}

// Runs streamed completions back to back on one keep-alive connection.
template <class Stream>
awaitable<void> stream_loop(Stream& stream, SseState& state) {
  beast::flat_buffer buffer;
  Request request = chat_request(prompt_of(state.run.options.words), true, true);
  while (state.run.running()) {
    ++state.run.started_operations;
    co_await read_one_stream(stream, buffer, request, state);
  }
}

awaitable<void> sse_worker(SseState& state) {
  Run& run = state.run;
  while (run.running()) {
    try {
      if (run.options.plain) {
        auto stream = co_await connect_plain(run.dialer);
        co_await stream_loop(stream, state);
      } else {
        auto stream = co_await connect_tls(run.dialer, nullptr);
        co_await stream_loop(*stream, state);
      }
    } catch (const boost::system::system_error&) {
      if (run.measuring(Clock::now())) {
        ++run.errors;
      }
    }
  }
}

}  // namespace

nlohmann::json run_sse(const Options& options) {
  Run run(options, false);
  SseState state(run);
  run.start_cpu_sampling();
  run.run_workers(options.connections, [&](int) { return sse_worker(state); });
  nlohmann::json out;
  run.report(out);
  out["words"] = options.words;
  out["events"] = state.events;
  out["non_200"] = state.non_200;
  out["first_event_us"] = state.first_event.summary();
  out["event_added_us"] = state.added.summary();
  if (out.contains("cpu_us") && state.events > 0) {
    out["cpu_us_per_event"] = out["cpu_us"].get<double>() / static_cast<double>(state.events);
  }
  return out;
}

}  // namespace sanctum::bench
