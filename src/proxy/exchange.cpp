#include "proxy/exchange.hpp"

#include <chrono>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_static_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/policy.hpp"
#include "http/messages.hpp"
#include "obs/counters.hpp"
#include "obs/log.hpp"
#include "obs/status.hpp"
#include "proxy/body_views.hpp"
#include "proxy/client_watch.hpp"
#include "proxy/io.hpp"
#include "tls/stream.hpp"

namespace sanctum::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using net::awaitable;
using Clock = std::chrono::steady_clock;
using obs::Counter;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
// Room for a typical request or response head in wire form, so that writing
// one does not grow the string several times.
constexpr std::size_t kHeadTextReserve = 1024;

double millis_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string seconds_text(config::Duration d) {
  return fmt::format("{:g}s", std::chrono::duration<double>(d).count());
}

// Errors that mean the client closed or reset the connection: not worth a
// log line above debug and never an error response.
bool is_disconnect(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::ssl::error::stream_truncated || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::operation_aborted ||
         ec == net::error::bad_descriptor;
}

// The error of an operation that the connection's deadline may have
// cancelled: a timeout when it did.
beast::error_code timed(Connection& connection, beast::error_code ec) {
  if (ec && connection.deadline_expired) {
    connection.deadline_expired = false;
    return beast::error::timeout;
  }
  return ec;
}

// Result of one exchange, for the access log and the connection loop.
struct Outcome {
  unsigned status = 0;
  std::uint64_t bytes_out = 0;
  double ttfb_ms = -1;
  std::string outcome = "complete";
  std::string error;
  bool keep_alive = true;
};

template <class Stream>
awaitable<bool> send_response(Stream& stream, Peer& peer, sanctum::http::Response& response,
                              config::Duration limit) {
  peer.connection->arm_deadline(*peer.socket, limit);
  beast::error_code ec = co_await io::write_message(stream, response);
  peer.connection->disarm_deadline();
  co_return !ec;
}

// Sends an OpenAI-shaped error to the client and fills `out` to match.
template <class Stream>
awaitable<void> send_error(Stream& stream, Peer& peer, Outcome& out, http::status status,
                           std::string message, std::string_view type, std::string_view code,
                           unsigned version, config::Duration limit) {
  auto response = sanctum::http::json_error(status, message, type, code, version, out.keep_alive);
  if (status == http::status::unauthorized) {
    response.set(http::field::www_authenticate, "Bearer realm=\"sanctum\"");
  }
  out.status = static_cast<unsigned>(status);
  out.bytes_out = response.body().size();
  if (out.error.empty()) {
    out.error = std::move(message);
  }
  if (!co_await send_response(stream, peer, response, limit)) {
    out.keep_alive = false;
  }
}

// Counts and responds to a request whose body exceeds limits.max_body_bytes
// with a 413 that names the limit.
template <class Stream>
awaitable<void> send_body_too_large(Stream& stream, Peer& peer, Outcome& out,
                                    const config::Limits& limits, unsigned version,
                                    config::Duration limit) {
  obs::counters().add(Counter::http_body_too_large);
  co_await send_error(stream, peer, out, http::status::payload_too_large,
                      fmt::format("request body exceeds {} bytes (limits.max_body_bytes)",
                                  limits.max_body_bytes),
                      "invalid_request_error", "body_too_large", version, limit);
}

awaitable<beast::error_code> connect_upstream(tcp::socket& upstream, Connection& connection,
                                              const config::UpstreamTarget& target,
                                              config::Duration limit) {
  beast::error_code ec;
  auto address = net::ip::make_address(target.host, ec);
  connection.arm_deadline(upstream, limit);
  if (!ec) {
    auto [cec] = co_await upstream.async_connect(tcp::endpoint(address, target.port), kUseTuple);
    ec = cec;
  } else {
    tcp::resolver resolver(upstream.get_executor());
    auto [rec, endpoints] =
        co_await resolver.async_resolve(target.host, std::to_string(target.port), kUseTuple);
    if (rec) {
      connection.disarm_deadline();
      co_return rec;
    }
    auto [cec, endpoint] = co_await net::async_connect(upstream, endpoints, kUseTuple);
    ec = cec;
  }
  ec = timed(connection, ec);
  connection.disarm_deadline();
  if (!ec) {
    upstream.set_option(tcp::no_delay(true), ec);
  }
  if (!ec) {
    // The connect left EPOLLOUT in the socket's epoll registration, so every
    // later wait for readability would also report the idle socket as
    // writable and wake the worker once more. Registering the descriptor
    // afresh leaves it out.
    tcp protocol = upstream.local_endpoint(ec).protocol();
    auto descriptor = ec ? -1 : upstream.release(ec);
    if (!ec) {
      upstream.assign(protocol, descriptor, ec);
    }
  }
  if (!ec) {
    upstream.non_blocking(true, ec);
  }
  co_return ec;
}

// Rewrites a client request into the one the upstream receives.
void prepare_upstream_request(http::request<http::string_body>& request,
                              const ListenerRuntime& listener) {
  sanctum::http::remove_hop_by_hop(request);
  request.set(http::field::host, listener.upstream_host_header);
  if (!listener.upstream.base_path.empty()) {
    request.target(listener.upstream.base_path + std::string(request.target()));
  }
  request.version(11);
  request.keep_alive(true);
  // The gateway responded to any Expect: 100-continue itself and has read
  // the body, so the upstream gets the whole request at once and has no reason
  // to send a 100 of its own.
  request.erase(http::field::expect);
  // The body was read whole, so it always goes upstream with Content-Length,
  // because mlx_lm.server rejects a chunked request body with 411.
  request.prepare_payload();
}

// True for an interim response (100 Continue, 102, 103 Early Hints), which
// an upstream may send before the final one. 101 ends HTTP on the
// connection, so it counts as final.
bool is_interim(unsigned status) { return status >= 100 && status < 200 && status != 101; }

// Turns the upstream response head, in the parser's own message, into the
// head sent to the client, and picks the framing: the upstream's
// Content-Length when it has one, chunked for an HTTP/1.1 client otherwise,
// and close-delimited for HTTP/1.0. The parser has already taken its own
// framing from the head, so editing the message does not change how the
// rest of the upstream response is read.
void prepare_client_head(http::response_parser<BodyViews>& parser,
                         unsigned client_version, bool& keep_alive) {
  bool done = parser.is_done();
  bool has_length = parser.content_length().has_value();
  auto& head = parser.get();
  head.version(client_version);
  sanctum::http::remove_hop_by_hop(head);
  if (!done && !has_length) {
    head.erase(http::field::content_length);
    if (client_version >= 11) {
      head.chunked(true);
    } else {
      keep_alive = false;
    }
  }
  head.keep_alive(keep_alive);
}

// A 16 KiB block from the worker's free list, returned when the exchange
// ends: the buffer the upstream's response is read into. A block in
// forward()'s coroutine frame, or allocated for each exchange, would cost
// an allocation and a free per request.
class PooledBlock {
 public:
  static constexpr std::size_t kSize = 16 * 1024;

  explicit PooledBlock(Worker& worker) : worker_(worker) {
    if (worker_.read_blocks.empty()) {
      block_ = std::make_unique_for_overwrite<char[]>(kSize);
    } else {
      block_ = std::move(worker_.read_blocks.back());
      worker_.read_blocks.pop_back();
    }
  }
  ~PooledBlock() {
    if (worker_.read_blocks.size() < kKept) {
      worker_.read_blocks.push_back(std::move(block_));
    }
  }
  PooledBlock(const PooledBlock&) = delete;
  PooledBlock& operator=(const PooledBlock&) = delete;

  char* data() { return block_.get(); }

 private:
  // Enough for the exchanges a worker usually runs at once. Beyond that, a
  // finished exchange's block is freed.
  static constexpr std::size_t kKept = 16;
  Worker& worker_;
  std::unique_ptr<char[]> block_;
};

// A string from the worker's free list, for a message head in wire form. It
// keeps its capacity between exchanges, so writing a head allocates only
// when the head is longer than any before.
class PooledText {
 public:
  explicit PooledText(Worker& worker) : worker_(worker) {
    if (!worker_.head_texts.empty()) {
      text_ = std::move(worker_.head_texts.back());
      worker_.head_texts.pop_back();
      text_.clear();
    } else {
      text_.reserve(kHeadTextReserve);
    }
  }
  ~PooledText() {
    if (worker_.head_texts.size() < kKept && text_.capacity() <= kLargestKept) {
      worker_.head_texts.push_back(std::move(text_));
    }
  }
  PooledText(const PooledText&) = delete;
  PooledText& operator=(const PooledText&) = delete;

  std::string& get() { return text_; }

 private:
  static constexpr std::size_t kKept = 16;
  // A head of many kilobytes is rare, so its string is freed, not kept.
  static constexpr std::size_t kLargestKept = 8 * 1024;
  Worker& worker_;
  std::string text_;
};

obs::RateLimiter& upstream_log_limiter() {
  static obs::RateLimiter limiter(10, std::chrono::seconds(60));
  return limiter;
}

// Logs an upstream failure at warn, because the gateway runs but its model
// server does not respond. Rate-limited, since every request repeats it.
void log_upstream_failure(const ListenerRuntime& listener, const std::string& reason) {
  std::uint64_t suppressed = 0;
  if (upstream_log_limiter().allow(suppressed)) {
    obs::logger("proxy")->warn("listener {}: {}{}", listener.config.name, reason,
                               suppressed > 0 ? fmt::format(" ({} more upstream failures not logged)",
                                                            suppressed)
                                              : "");
  }
}

// Forwards `request` and relays the response. Sends an error response itself
// when the upstream cannot be reached or fails before its response head.
template <class Stream>
awaitable<Outcome> forward(Stream& client, const ListenerRuntime& listener, Worker& worker,
                           Peer& peer, http::request<http::string_body>& request,
                           unsigned client_version, bool client_keep_alive) {
  const auto& timeouts = listener.global->timeouts;
  const auto& target = listener.upstream;
  Connection& connection = *peer.connection;
  Outcome out;
  out.keep_alive = client_keep_alive && !worker.draining;
  bool head_request = request.method() == http::verb::head;

  std::optional<tcp::socket> upstream;
  tcp::socket* upstream_ptr = nullptr;
  ClientWatch watch(connection, *peer.socket, &upstream_ptr);
  // Declared after the upstream socket, so it ends first: the deadline never
  // points at a socket that is gone.
  struct Disarm {
    Connection& connection;
    ~Disarm() { connection.disarm_deadline(); }
  } disarm{connection};

  prepare_upstream_request(request, listener);
  // The request head in wire form, and later the response head. It replaces
  // Beast's serializer, because its walk over many small buffer views took
  // about a quarter of the gateway's own CPU time in a keep-alive profile.
  PooledText pooled_head(worker);
  std::string& head_text = pooled_head.get();
  sanctum::http::append_head(head_text, request);
  // Time to first byte is for the access log only.
  const bool timing = listener.access_log != nullptr;
  Clock::time_point sent_at = timing ? Clock::now() : Clock::time_point{};
  std::optional<http::response_parser<BodyViews>> parser;
  std::optional<io::TrackedSocket> reader;
  // Beast reads as much as the buffer has room for. The response parser's
  // header limit (8 KiB) is below the block's size, so a head that does not
  // fit fails as too large before the buffer is full.
  PooledBlock read_block(worker);
  beast::flat_static_buffer_base upstream_buffer(read_block.data(), PooledBlock::kSize);

  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    upstream_ptr = nullptr;
    connection.disarm_deadline();
    if (attempt == 0) {
      if (auto idle = worker.upstream_pool.take(listener.upstream_key)) {
        upstream.emplace(std::move(*idle));
        reused = true;
        obs::counters().add(Counter::proxy_upstream_reused);
      }
    }
    if (!reused) {
      upstream.emplace(client.get_executor());
      upstream_ptr = &*upstream;
      beast::error_code ec =
          co_await connect_upstream(*upstream, connection, target, timeouts.upstream_connect);
      if (watch.client_gone()) {
        out.outcome = "client-cancel";
        out.keep_alive = false;
        co_return out;
      }
      if (ec == beast::error::timeout) {
        obs::counters().add(Counter::proxy_upstream_timeout);
        log_upstream_failure(listener, fmt::format("upstream {} did not accept a connection within {}",
                                                   target.text,
                                                   seconds_text(timeouts.upstream_connect)));
        co_await send_error(client, peer, out, http::status::gateway_timeout,
                            fmt::format("upstream {} did not accept a connection within {}",
                                        target.text, seconds_text(timeouts.upstream_connect)),
                            "upstream_error", "upstream_timeout", client_version,
                            timeouts.request_head);
        out.outcome = "error";
        co_return out;
      }
      if (ec) {
        obs::counters().add(Counter::proxy_upstream_connect_error);
        log_upstream_failure(listener,
                             fmt::format("upstream {} is unreachable: {}", target.text, ec.message()));
        co_await send_error(client, peer, out, http::status::bad_gateway,
                            fmt::format("upstream {} is unreachable: {}", target.text, ec.message()),
                            "upstream_error", "upstream_unreachable", client_version,
                            timeouts.request_head);
        out.outcome = "error";
        co_return out;
      }
    }
    upstream_ptr = &*upstream;

    connection.arm_deadline(*upstream, timeouts.request_body);
    io::Outgoing request_bytes;
    request_bytes.add(net::buffer(head_text));
    request_bytes.add(net::buffer(request.body()));
    auto write_request = io::sending(*upstream, request_bytes);
    beast::error_code wec = io::now(write_request);
    if (io::blocked(wec)) {
      wec = co_await io::finish(*upstream, io::Want::write, write_request);
    }
    wec = timed(connection, wec);
    parser.emplace();
    parser->body_limit(boost::none);
    parser->skip(head_request);
    reader.emplace(*upstream);
    if (!wec) {
      // The response cannot be there yet: wait before the first read.
      reader->expect_wait();
      connection.arm_deadline(*upstream, timeouts.upstream_first_byte);
      auto read_head = io::reading_header(*reader, upstream_buffer, *parser);
      beast::error_code rec = io::now(read_head);
      if (io::blocked(rec)) {
        rec = co_await io::finish(*reader, io::Want::read, read_head);
      }
      // Interim responses are not relayed: the client gets the final one.
      while (!rec && is_interim(parser->get().result_int())) {
        parser.emplace();
        parser->body_limit(boost::none);
        parser->skip(head_request);
        auto read_next = io::reading_header(*reader, upstream_buffer, *parser);
        rec = io::now(read_next);
        if (io::blocked(rec)) {
          rec = co_await io::finish(*reader, io::Want::read, read_next);
        }
      }
      wec = timed(connection, rec);
    }
    if (!wec) {
      break;
    }
    if (watch.client_gone()) {
      out.outcome = "client-cancel";
      out.keep_alive = false;
      co_return out;
    }
    bool nothing_received = !parser->got_some();
    upstream_buffer.clear();
    if (reused && nothing_received && wec != beast::error::timeout) {
      // The upstream closed this idle connection before reading the request;
      // try once more on a new connection.
      continue;
    }
    log_upstream_failure(listener, fmt::format("upstream {} failed before its response head: {}",
                                               target.text, wec.message()));
    if (wec == beast::error::timeout) {
      obs::counters().add(Counter::proxy_upstream_timeout);
      co_await send_error(client, peer, out, http::status::gateway_timeout,
                          fmt::format("upstream {} sent no response head within {}", target.text,
                                      seconds_text(timeouts.upstream_first_byte)),
                          "upstream_error", "upstream_timeout", client_version,
                          timeouts.request_head);
    } else {
      obs::counters().add(Counter::proxy_upstream_error);
      co_await send_error(client, peer, out, http::status::bad_gateway,
                          fmt::format("upstream {} failed before its response head: {}",
                                      target.text, wec.message()),
                          "upstream_error", "upstream_failed", client_version,
                          timeouts.request_head);
    }
    out.outcome = "error";
    co_return out;
  }
  if (timing) {
    out.ttfb_ms = millis_since(sent_at);
  }

  // The response is relayed from the parser's message: its head becomes the
  // client's head, and its body is a list of views of the body bytes in the
  // read buffer, which are sent on from there.
  prepare_client_head(*parser, client_version, out.keep_alive);
  auto& head = parser->get();
  out.status = head.result_int();
  head_text.clear();
  sanctum::http::append_head(head_text, head);
  bool head_sent = false;
  const bool chunked = head.chunked();
  io::Outgoing client_bytes;
  auto write_client = io::sending(client, client_bytes);
  // A head with nothing after it yet goes out at once, so a streaming client
  // sees the status before the first event. Otherwise it waits for the body
  // bytes already read and leaves with them in one TLS record.
  if (parser->is_done() || upstream_buffer.size() == 0) {
    client_bytes.add(net::buffer(head_text));
    head_sent = true;
    connection.arm_deadline(*peer.socket, timeouts.stream_idle);
    beast::error_code hec = io::now(write_client);
    if (io::blocked(hec)) {
      hec = co_await io::finish(client, io::Want::write, write_client);
    }
    if (hec) {
      out.outcome = "client-cancel";
      out.error = timed(connection, hec).message();
      out.keep_alive = false;
      co_return out;
    }
  }

  obs::counters().active_streams.fetch_add(1, std::memory_order_relaxed);
  struct StreamGauge {
    ~StreamGauge() { obs::counters().active_streams.fetch_sub(1, std::memory_order_relaxed); }
  } stream_gauge;

  using sanctum::http::kChunkEnd;
  using sanctum::http::kLastChunk;
  char chunk_size_line[sanctum::http::kChunkSizeLineMax];
  auto& pieces = head.body();
  auto read_more = [&tracked = *reader, &upstream_buffer](beast::error_code& ec) {
    std::size_t room = upstream_buffer.capacity() - upstream_buffer.size();
    if (room == 0) {
      ec = http::error::buffer_overflow;
      return;
    }
    std::size_t n = tracked.read_some(upstream_buffer.prepare(room), ec);
    upstream_buffer.commit(n);
  };
  // From here on, one call to put() parses every complete element in the
  // buffer.
  parser->eager(true);
  // Each round parses the bytes in the read buffer and sends the body pieces
  // found, with the unsent head, their chunk framing and, at the end, the
  // last chunk, in one write. The pieces are views into the read buffer, so
  // the next read waits until they are sent.
  for (bool body_done = parser->is_done(); !body_done;) {
    pieces.clear();
    beast::error_code rec;
    // The end of the bytes received, taken before consume() may reset the
    // buffer's pointers. The bytes themselves stay until the next read.
    const char* received_end =
        static_cast<const char*>(upstream_buffer.data().data()) + upstream_buffer.size();
    if (upstream_buffer.size() > 0 && !parser->is_done()) {
      upstream_buffer.consume(parser->put(upstream_buffer.data(), rec));
      // need_more means the buffer ends inside a chunk header, need_buffer
      // that every view is in use and the rest waits for the next round.
      if (rec == http::error::need_more || rec == http::error::need_buffer) {
        rec = {};
      }
    }
    body_done = !rec && parser->is_done();
    if (!rec && !body_done && pieces.count == 0) {
      connection.arm_deadline(*upstream, timeouts.stream_idle);
      rec = io::now(read_more);
      if (io::blocked(rec)) {
        rec = co_await io::finish(*reader, io::Want::read, read_more);
      }
      rec = timed(connection, rec);
      if (rec == net::error::eof) {
        // Ends a close-delimited body, and reports any other body as cut short.
        rec = {};
        parser->put_eof(rec);
      }
      if (!rec) {
        continue;
      }
    }
    std::size_t got = pieces.bytes;
    client_bytes.clear();
    if (!head_sent && (got > 0 || body_done)) {
      client_bytes.add(net::buffer(head_text));
      head_sent = true;
    }
    net::const_buffer framed;
    if (got > 0 && chunked) {
      framed = sanctum::http::framed_in_place({pieces.pieces.data(), pieces.count},
                                              read_block.data(), received_end, body_done);
    }
    if (framed.size() > 0) {
      client_bytes.add(framed);
    } else {
      // The pieces become one chunk, framed here, and the stream copies the
      // framing and pieces into one TLS record.
      if (got > 0 && chunked) {
        std::size_t line = sanctum::http::write_chunk_size_line(chunk_size_line, got);
        client_bytes.add(net::buffer(chunk_size_line, line));
      }
      for (std::size_t i = 0; i < pieces.count; ++i) {
        client_bytes.add(pieces.pieces[i]);
      }
      if (got > 0 && chunked) {
        client_bytes.add(net::buffer(kChunkEnd.data(), kChunkEnd.size()));
      }
      if (body_done && chunked) {
        client_bytes.add(net::buffer(kLastChunk.data(), kLastChunk.size()));
      }
    }
    if (!client_bytes.empty()) {
      connection.arm_deadline(*peer.socket, timeouts.stream_idle);
      beast::error_code cec = io::now(write_client);
      if (io::blocked(cec)) {
        cec = co_await io::finish(client, io::Want::write, write_client);
      }
      if (cec) {
        out.outcome = "client-cancel";
        out.error = timed(connection, cec).message();
        out.keep_alive = false;
        obs::counters().add(Counter::proxy_stream_client_cancel);
        co_return out;
      }
      out.bytes_out += got;
    }
    if (rec) {
      out.keep_alive = false;
      if (watch.client_gone()) {
        out.outcome = "client-cancel";
        out.error = "client closed the connection";
        obs::counters().add(Counter::proxy_stream_client_cancel);
      } else if (rec == beast::error::timeout) {
        out.outcome = "timeout";
        out.error = fmt::format("upstream sent nothing for {}", seconds_text(timeouts.stream_idle));
        obs::counters().add(Counter::proxy_stream_timeout);
      } else {
        out.outcome = "upstream-cut";
        out.error = "upstream closed mid-response: " + rec.message();
        obs::counters().add(Counter::proxy_stream_upstream_cut);
      }
      co_return out;
    }
  }

  connection.disarm_deadline();
  obs::counters().add(Counter::proxy_stream_complete);
  // Bytes after the end of the response mean the upstream framed it another
  // way, such as a body after a HEAD head. More may follow and corrupt the
  // next response, so such a connection is closed, not reused.
  bool trailing_bytes = upstream_buffer.size() > 0;
  if (trailing_bytes) {
    obs::logger("proxy")->debug("[c{}] upstream {} sent {} bytes after its response; "
                                "the connection is closed, not reused",
                                connection.id, target.text, upstream_buffer.size());
  }
  if (parser->keep_alive() && !parser->need_eof() && !watch.client_gone() && !trailing_bytes) {
    upstream_ptr = nullptr;
    worker.upstream_pool.put(listener.upstream_key, std::move(*upstream),
                             listener.global->limits.upstream_pool_size);
  }
  co_return out;
}

obs::RateLimiter& denial_log_limiter() {
  static obs::RateLimiter limiter(10, std::chrono::seconds(60));
  return limiter;
}

void log_denial(const Peer& peer, const ListenerRuntime& listener, const auth::Decision& decision) {
  auto log = obs::logger("auth");
  log->debug("[c{}] {} denied on listener {}: {}", peer.connection->id, peer.connection->peer,
             listener.config.name, decision.reason);
  std::uint64_t suppressed = 0;
  if (denial_log_limiter().allow(suppressed)) {
    log->info("request from {} denied on listener {} ({}): {}{}", peer.connection->peer,
              listener.config.name, decision.status, decision.reason,
              suppressed > 0 ? fmt::format(" ({} more denials not logged)", suppressed) : "");
  }
}

std::string path_without_query(std::string_view target) {
  return std::string(target.substr(0, target.find('?')));
}

// The request counter a connection used last, with its labels. Most
// connections repeat the same transport and status, so counting an exchange
// is usually one atomic increment.
struct ExchangeTally {
  std::string transport;
  unsigned status = 0;
  std::atomic<std::uint64_t>* counter = nullptr;

  void count(const ListenerRuntime& listener, const Peer& peer, const obs::AccessRecord& record,
             unsigned result) {
    if (counter == nullptr || status != result || transport != record.transport) {
      static const std::string kNoClient;
      const std::string& client = peer.identity ? peer.identity->display_name() : kNoClient;
      counter = &obs::gateway_status().exchange_counter(listener.config.name, record.transport,
                                                         client, result);
      status = result;
      transport = record.transport;
    }
    counter->fetch_add(1, std::memory_order_relaxed);
  }
};

void write_access(const ListenerRuntime& listener, const Peer& peer, obs::AccessRecord& record,
                  Clock::time_point start, const Outcome& out, ExchangeTally& tally) {
  tally.count(listener, peer, record, out.status);
  if (listener.access_log == nullptr) {
    return;
  }
  record.status = out.status;
  record.bytes_out = out.bytes_out;
  record.upstream_ttfb_ms = out.ttfb_ms;
  record.outcome = out.outcome;
  record.error = out.error;
  record.duration_ms = millis_since(start);
  listener.access_log->write(record);
}

// The gateway's own endpoints, served on mTLS listeners to any client whose
// certificate verified, allow-list or not: /healthz (the process is up),
// /readyz (TLS material loaded and the upstream accepts a connection),
// /metrics (Prometheus text) and /sanctum/status (JSON).
bool is_gateway_endpoint(std::string_view path) {
  return path == "/healthz" || path == "/readyz" || path == "/metrics" ||
         path == "/sanctum/status";
}

awaitable<obs::UpstreamCheck> check_upstream(const ListenerRuntime& listener, Peer& peer) {
  tcp::socket probe(co_await net::this_coro::executor);
  auto limit = std::min(listener.global->timeouts.upstream_connect, config::Duration(2'000));
  beast::error_code ec = co_await connect_upstream(probe, *peer.connection, listener.upstream, limit);
  obs::UpstreamCheck check;
  check.time = std::chrono::system_clock::now();
  check.ok = !ec;
  if (ec) {
    check.error = ec == beast::error::timeout ? "connect timed out" : ec.message();
  }
  obs::gateway_status().record_upstream_check(listener.upstream.text, check);
  co_return check;
}

template <class Stream>
awaitable<void> serve_gateway_endpoint(Stream& stream, const ListenerRuntime& listener, Peer& peer,
                                       std::string_view path, unsigned version, Outcome& out) {
  sanctum::http::Response response{http::status::ok, version};
  response.set(http::field::cache_control, "no-store");
  if (path == "/healthz") {
    response.set(http::field::content_type, "application/json");
    response.body() = "{\"status\":\"ok\"}\n";
  } else if (path == "/readyz") {
    auto check = co_await check_upstream(listener, peer);
    bool tls_loaded = listener.tls == nullptr || listener.tls->current() != nullptr;
    nlohmann::json body = {{"status", check.ok && tls_loaded ? "ready" : "not ready"},
                           {"upstream", listener.upstream.text},
                           {"upstream_ok", check.ok},
                           {"tls_loaded", tls_loaded}};
    if (!check.ok) {
      body["error"] = "upstream " + listener.upstream.text + " is unreachable: " + check.error;
    }
    response.result(check.ok && tls_loaded ? http::status::ok : http::status::service_unavailable);
    response.set(http::field::content_type, "application/json");
    response.body() = body.dump() + "\n";
  } else if (path == "/metrics") {
    response.set(http::field::content_type, "text/plain; version=0.0.4");
    response.body() = obs::gateway_status().to_prometheus();
  } else {
    response.set(http::field::content_type, "application/json");
    response.body() = obs::gateway_status().to_json().dump(2) + "\n";
  }
  response.keep_alive(out.keep_alive);
  response.prepare_payload();
  out.status = response.result_int();
  out.bytes_out = response.body().size();
  if (!co_await send_response(stream, peer, response, listener.global->timeouts.request_head)) {
    out.keep_alive = false;
  }
}


// Reads one request, whose first bytes have arrived, and responds to it. The
// connection's deadline for the request head is already armed. Returns
// whether the connection stays open for another request. Kept apart from
// serve_requests() so that the parser and the access record exist only while
// a request is in flight, not while the connection waits for the next one.
template <class Stream>
awaitable<bool> serve_one(Stream& stream, beast::flat_buffer& buffer,
                          const ListenerRuntime& listener, Worker& worker, Peer& peer,
                          ExchangeTally& tally) {
  const auto& limits = listener.global->limits;
  const auto& timeouts = listener.global->timeouts;
  const std::string& identity_header = listener.global->identity_header;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  Connection& connection = *peer.connection;
  auto read_head = io::reading_header(stream, buffer, parser);
  beast::error_code ec = io::now(read_head);
  if (io::blocked(ec)) {
    ec = co_await io::finish(stream, io::Want::read, read_head);
  }
  ec = timed(connection, ec);
  connection.disarm_deadline();

  // The access record's strings and times are filled only for a listener
  // that writes an access log, or for the debug line of an exchange that
  // fails: copying them for nothing costs every request.
  const bool logging = listener.access_log != nullptr;
  const bool describing = logging || obs::debug_enabled();
  Clock::time_point start{};
  obs::AccessRecord record;
  if (peer.identity) {
    record.transport = "mtls";
  }
  if (logging) {
    start = Clock::now();
    record.time = std::chrono::system_clock::now();
    record.connection_id = peer.connection->id;
    record.listener = listener.config.name;
    record.peer = peer.connection->peer;
    if (peer.identity) {
      record.client = peer.identity->display_name();
      record.client_serial = peer.identity->serial_hex;
    }
  }
  Outcome out;
  out.keep_alive = false;
  unsigned version = 11;

  if (ec) {
    // A keep-alive connection that stays silent is closed without a
    // response; 408 is for a client that started a request and stalled.
    if (is_disconnect(ec) || (ec == beast::error::timeout && buffer.size() == 0)) {
      co_return false;
    }
    out.outcome = "rejected";
    if (ec == beast::error::timeout) {
      obs::counters().add(Counter::http_request_timeout);
      co_await send_error(stream, peer, out, http::status::request_timeout,
                          fmt::format("request head not received within {}",
                                      seconds_text(timeouts.request_head)),
                          "invalid_request_error", "request_timeout", version,
                          timeouts.request_head);
    } else if (ec == http::error::body_limit) {
      // Beast compares Content-Length with the body limit as soon as the
      // head is parsed, so the request line is known.
      record.method = std::string(parser.get().method_string());
      record.path = path_without_query(parser.get().target());
      co_await send_body_too_large(stream, peer, out, limits, version, timeouts.request_head);
    } else if (ec == http::error::header_limit) {
      obs::counters().add(Counter::http_header_too_large);
      co_await send_error(stream, peer, out, http::status::request_header_fields_too_large,
                          fmt::format("request headers exceed {} bytes (limits.max_header_bytes)",
                                      limits.max_header_bytes),
                          "invalid_request_error", "headers_too_large", version,
                          timeouts.request_head);
    } else {
      obs::counters().add(Counter::http_bad_request);
      co_await send_error(stream, peer, out, http::status::bad_request,
                          "malformed HTTP request: " + ec.message(), "invalid_request_error",
                          "bad_request", version, timeouts.request_head);
    }
    write_access(listener, peer, record, start, out, tally);
    co_return false;
  }

  auto& request = parser.get();
  version = request.version();
  if (describing) {
    record.method = std::string(request.method_string());
    record.path = path_without_query(request.target());
  }
  bool keep_alive = request.keep_alive();

  if (parser.content_length() && *parser.content_length() > limits.max_body_bytes) {
    ec = http::error::body_limit;
  } else {
    if (request[http::field::expect] == "100-continue") {
      http::response<http::empty_body> proceed{http::status::continue_, 11};
      co_await io::write_message(stream, proceed);
    }
    peer.connection->arm_deadline(*peer.socket, timeouts.request_body);
    auto read_body = io::reading(stream, buffer, parser);
    ec = io::now(read_body);
    if (io::blocked(ec)) {
      ec = co_await io::finish(stream, io::Want::read, read_body);
    }
    ec = timed(*peer.connection, ec);
    peer.connection->disarm_deadline();
  }
  if (ec) {
    if (is_disconnect(ec)) {
      co_return false;
    }
    out.outcome = "rejected";
    if (ec == http::error::body_limit) {
      co_await send_body_too_large(stream, peer, out, limits, version, timeouts.request_head);
    } else if (ec == beast::error::timeout) {
      obs::counters().add(Counter::http_request_timeout);
      co_await send_error(stream, peer, out, http::status::request_timeout,
                          fmt::format("request body not received within {}",
                                      seconds_text(timeouts.request_body)),
                          "invalid_request_error", "request_timeout", version,
                          timeouts.request_head);
    } else {
      obs::counters().add(Counter::http_bad_request);
      co_await send_error(stream, peer, out, http::status::bad_request,
                          "malformed HTTP request body: " + ec.message(),
                          "invalid_request_error", "bad_request", version,
                          timeouts.request_head);
    }
    write_access(listener, peer, record, start, out, tally);
    co_return false;
  }
  record.bytes_in = request.body().size();
  out.keep_alive = keep_alive && !worker.draining;

  if (!sanctum::http::is_origin_form(request.target())) {
    obs::counters().add(Counter::http_bad_request);
    out.outcome = "rejected";
    co_await send_error(stream, peer, out, http::status::bad_request,
                        "request target must be a path starting with '/'",
                        "invalid_request_error", "bad_request", version, timeouts.request_head);
    write_access(listener, peer, record, start, out, tally);
    if (!out.keep_alive) {
      co_return false;
    }
    co_return true;
  }

  // The identity header is set by the gateway alone: whatever a client
  // sent under that name is dropped before the policy runs.
  if (!identity_header.empty()) {
    request.erase(identity_header);
  }
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (peer.identity && is_gateway_endpoint(path) &&
      (request.method() == http::verb::get || request.method() == http::verb::head)) {
    record.transport = "mtls";
    co_await serve_gateway_endpoint(stream, listener, peer, path, version, out);
    write_access(listener, peer, record, start, out, tally);
    if (!out.keep_alive) {
      co_return false;
    }
    co_return true;
  }
  auth::Policy policy{listener.config.auth, &listener.config.allow,
                      listener.config.loopback_bypass, listener.bearer_token};
  auth::RequestFacts facts{peer.identity ? &*peer.identity : nullptr,
                           peer.connection->peer_is_loopback,
                           request[http::field::authorization], request[http::field::origin],
                           request[http::field::host]};
  auth::Decision decision = auth::decide(policy, facts);
  record.transport = decision.transport;
  if (!decision.allowed) {
    obs::counters().add(Counter::auth_denied);
    log_denial(peer, listener, decision);
    out.outcome = "rejected";
    co_await send_error(stream, peer, out, static_cast<http::status>(decision.status), decision.reason,
                        decision.status == 401 ? "authentication_error" : "permission_error",
                        decision.code, version, timeouts.request_head);
    write_access(listener, peer, record, start, out, tally);
    if (!out.keep_alive) {
      co_return false;
    }
    co_return true;
  }
  if (listener.config.auth == config::AuthMode::bearer) {
    // The bearer token authenticates the client to the gateway only, so it
    // is not forwarded to the model server.
    request.erase(http::field::authorization);
  }
  if (peer.identity && !identity_header.empty()) {
    request.set(identity_header, peer.identity->display_name());
  }

  obs::counters().add(Counter::proxy_requests);
  out = co_await forward(stream, listener, worker, peer, request, version, out.keep_alive);
  write_access(listener, peer, record, start, out, tally);
  if (out.outcome != "complete") {
    obs::logger("proxy")->debug("[c{}] {} {} ended {}: {}", peer.connection->id,
                                record.method, record.path, out.outcome, out.error);
  }
  if (!out.keep_alive) {
    co_return false;
  }
  co_return true;
}

}  // namespace

template <class Stream>
awaitable<void> serve_requests(Stream& stream, beast::flat_buffer& buffer,
                               const ListenerRuntime& listener, Worker& worker, Peer& peer) {
  const auto& timeouts = listener.global->timeouts;
  Connection& connection = *peer.connection;
  bool first = true;
  ExchangeTally tally;
  for (;;) {
    if (worker.draining) {
      co_return;
    }
    connection.arm_deadline(*peer.socket, first ? timeouts.request_head : timeouts.keepalive_idle);
    first = false;
    if (buffer.size() == 0) {
      // Between requests the connection keeps no read buffer. A client
      // that stays silent until the deadline, or leaves, is closed without
      // a response.
      buffer.shrink_to_fit();
      connection.idle = true;
      beast::error_code ec;
      if (io::prepare_idle_wait(stream)) {
        std::tie(ec) =
            co_await io::socket_of(stream).async_wait(tcp::socket::wait_read, kUseTuple);
      }
      connection.idle = false;
      if (ec) {
        connection.disarm_deadline();
        co_return;
      }
    }
    if (!co_await serve_one(stream, buffer, listener, worker, peer, tally)) {
      co_return;
    }
  }
}

template awaitable<void> serve_requests<tcp::socket>(tcp::socket&, beast::flat_buffer&,
                                                     const ListenerRuntime&, Worker&, Peer&);
template awaitable<void> serve_requests<tls::ServerStream>(tls::ServerStream&, beast::flat_buffer&,
                                                           const ListenerRuntime&, Worker&, Peer&);

}  // namespace sanctum::proxy
