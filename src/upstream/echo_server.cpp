#include "upstream/echo_server.hpp"

#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "http/messages.hpp"
#include "obs/log.hpp"
#include "upstream/echo_model.hpp"

namespace sanctum::upstream {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using net::awaitable;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
constexpr std::chrono::seconds kIdleLimit{120};

std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

awaitable<bool> pause(beast::tcp_stream& stream, config::Duration delay) {
  if (delay.count() <= 0) {
    co_return true;
  }
  net::steady_timer timer(stream.get_executor());
  timer.expires_after(delay);
  auto [ec] = co_await timer.async_wait(kUseTuple);
  co_return !ec;
}

std::string event_at(const EchoReply& reply, std::size_t index) {
  std::optional<std::int64_t> stamp;
  if (reply.emit_timestamps) {
    stamp = unix_now_ns();
  }
  return format_echo_event(reply, index, index + 1 == reply.pieces.size(), stamp);
}

// Streams as chunked HTTP/1.1, one chunk per event. Returns false when the
// client went away.
awaitable<bool> stream_chunked(beast::tcp_stream& stream, const EchoReply& reply,
                               unsigned version, const EchoOptions& options) {
  http::response<http::empty_body> head{http::status::ok, version};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.chunked(true);
  http::response_serializer<http::empty_body> serializer{head};
  auto [ec, n] = co_await http::async_write_header(stream, serializer, kUseTuple);
  if (ec) {
    co_return false;
  }
  for (std::size_t i = 0; i < reply.pieces.size(); ++i) {
    if (i > 0 && !co_await pause(stream, options.chunk_delay)) {
      co_return false;
    }
    std::string event = event_at(reply, i);
    auto [wec, wn] = co_await net::async_write(stream, http::make_chunk(net::buffer(event)), kUseTuple);
    if (wec) {
      co_return false;
    }
  }
  static const std::string done = "data: [DONE]\n\n";
  auto [dec, dn] = co_await net::async_write(stream, http::make_chunk(net::buffer(done)), kUseTuple);
  if (dec) {
    co_return false;
  }
  auto [lec, ln] = co_await net::async_write(stream, http::make_chunk_last(), kUseTuple);
  co_return !lec;
}

// Streams the way mlx_lm.server does: an HTTP/1.0 head without length, the
// events as raw bytes, then the connection closes.
awaitable<void> stream_close_delimited(beast::tcp_stream& stream, const EchoReply& reply,
                                       const EchoOptions& options) {
  std::string head =
      "HTTP/1.0 200 OK\r\nServer: sanctum-echo\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n\r\n";
  auto [ec, n] = co_await net::async_write(stream, net::buffer(head), kUseTuple);
  for (std::size_t i = 0; !ec && i < reply.pieces.size(); ++i) {
    if (i > 0 && !co_await pause(stream, options.chunk_delay)) {
      co_return;
    }
    std::string event = event_at(reply, i);
    std::tie(ec, n) = co_await net::async_write(stream, net::buffer(event), kUseTuple);
  }
  if (!ec) {
    static const std::string done = "data: [DONE]\n\n";
    co_await net::async_write(stream, net::buffer(done), kUseTuple);
  }
}

awaitable<bool> write_whole(beast::tcp_stream& stream, unsigned status, std::string body,
                            unsigned version, bool keep_alive) {
  http::response<http::string_body> response{static_cast<http::status>(status), version};
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.keep_alive(keep_alive);
  response.prepare_payload();
  auto [ec, n] = co_await http::async_write(stream, response, kUseTuple);
  co_return !ec;
}

bool lacks_content_length(const http::request<http::string_body>& request) {
  return request.method() == http::verb::post && !request.has_content_length();
}

awaitable<void> serve_connection(tcp::socket socket, EchoOptions options) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    stream.expires_after(kIdleLimit);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (ec) {
      break;
    }
    stream.expires_never();
    auto& request = parser.get();
    if (options.mlx_style && lacks_content_length(request)) {
      co_await write_whole(stream, 411,
                           sanctum::http::openai_error_body("Content-Length required", "invalid_request_error",
                                             "length_required"),
                           request.version(), false);
      break;
    }
    EchoReply reply = answer_echo(request.method_string(), request.target(), request.body());
    if (!reply.stream) {
      bool keep_alive = request.keep_alive() && !options.mlx_style;
      if (!co_await write_whole(stream, reply.status, std::move(reply.body), request.version(),
                                keep_alive) ||
          !keep_alive) {
        break;
      }
      continue;
    }
    if (options.mlx_style || request.version() < 11) {
      co_await stream_close_delimited(stream, reply, options);
      break;
    }
    if (!co_await stream_chunked(stream, reply, request.version(), options) ||
        !request.keep_alive()) {
      break;
    }
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace

struct EchoServer::State {
  State(util::IoPool& p, net::io_context& ctx) : pool(p), acceptor(ctx) {}
  util::IoPool& pool;
  tcp::acceptor acceptor;
  EchoOptions options;
};

namespace {

awaitable<void> accept_loop(std::shared_ptr<EchoServer::State> state) {
  for (;;) {
    auto [ec, socket] = co_await state->acceptor.async_accept(state->pool.next(), kUseTuple);
    if (ec == net::error::operation_aborted || !state->acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      obs::logger("echo")->warn("accept failed: {}", ec.message());
      continue;
    }
    socket.set_option(tcp::no_delay(true));
    auto executor = socket.get_executor();
    net::co_spawn(executor, serve_connection(std::move(socket), state->options), net::detached);
  }
}

}  // namespace

Result<std::unique_ptr<EchoServer>> EchoServer::start(util::IoPool& pool,
                                                      const config::BindAddress& address,
                                                      EchoOptions options) {
  auto state = std::make_shared<State>(pool, pool.context(0));
  state->options = options;
  beast::error_code ec;
  tcp::endpoint endpoint(net::ip::make_address(address.host, ec), address.port);
  if (!ec) {
    state->acceptor.open(endpoint.protocol(), ec);
  }
  if (!ec) {
    state->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    state->acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    state->acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return make_error(fmt::format("echo upstream cannot listen on {}: {}",
                                  config::to_string(address), ec.message()));
  }
  std::uint16_t port = state->acceptor.local_endpoint().port();
  net::co_spawn(state->acceptor.get_executor(), accept_loop(state), net::detached);
  return std::unique_ptr<EchoServer>(new EchoServer(state, port));
}

EchoServer::~EchoServer() { close(); }

void EchoServer::close() {
  net::post(state_->acceptor.get_executor(), [state = state_] {
    beast::error_code ignored;
    state->acceptor.close(ignored);
  });
}

}  // namespace sanctum::upstream
