// MtlsClient::send: one request on a new connection, as a coroutine with one
// step per phase (resolve, connect, handshake, write, read head, read body),
// run to completion on a private io_context.

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fmt/format.h>

#include "client/mtls_client.hpp"
#include "tls/handles.hpp"
#include "tls/identity.hpp"

namespace sanctum::client {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using net::awaitable;
using Clock = std::chrono::steady_clock;
using namespace net::experimental::awaitable_operators;

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kReadPieceBytes = 16 * 1024;

std::string seconds_text(Clock::duration d) {
  return fmt::format("{:g}s", std::chrono::duration<double>(d).count());
}

bool is_closed_by_peer(const beast::error_code& ec) {
  return ec == net::error::eof || ec == http::error::end_of_stream ||
         ec == http::error::partial_message || ec == ssl::error::stream_truncated ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

// The state of one exchange. Each step returns false after it recorded a
// failure in `response`.
class Exchange {
 public:
  Exchange(net::io_context& io, ssl::context& context, const HttpsUrl& url,
           const Request& request, const Timeouts& timeouts, const BodyCallback& on_body)
      : stream_(io, context), url_(url), request_(request), timeouts_(timeouts),
        on_body_(on_body) {
    response.timing.started = Clock::now();
    if (timeouts_.total.count() > 0) {
      deadline_ = response.timing.started + timeouts_.total;
    }
  }

  awaitable<void> run() {
    auto message = build_request();
    if (!message) {
      co_return;
    }
    if (!co_await connect()) {
      co_return;
    }
    if (!co_await handshake()) {
      co_return;
    }
    if (!co_await write_request(*message)) {
      co_return;
    }
    if (!co_await read_head()) {
      co_return;
    }
    if (!co_await read_body()) {
      co_return;
    }
    if (response.status < 200 || response.status > 299) {
      fail(FailureKind::http_status, fmt::format("http-status {}", response.status));
    }
  }

  Response response;

 private:
  void fail(FailureKind kind, std::string detail) {
    response.failure = kind;
    if (kind == FailureKind::http_status) {
      response.error = std::move(detail);
    } else {
      response.error = fmt::format("{}: {}", to_string(kind), detail);
    }
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  Clock::duration elapsed() const { return Clock::now() - response.timing.started; }

  // The time left for a step limited to `limit`, cut to the total deadline.
  // Sets `phase_` to the name a timeout of this step reports. Returns zero
  // after recording a timeout when the total deadline has already passed.
  Clock::duration limit_for(std::chrono::milliseconds limit, const char* phase) {
    phase_ = phase;
    phase_limit_ = limit;
    if (deadline_ == Clock::time_point{}) {
      return limit;
    }
    auto left = deadline_ - Clock::now();
    if (left <= Clock::duration::zero()) {
      fail(FailureKind::timeout, fmt::format("total ({})", seconds_text(timeouts_.total)));
      return Clock::duration::zero();
    }
    if (left < limit) {
      phase_ = "total";
      phase_limit_ = timeouts_.total;
    }
    return std::min<Clock::duration>(left, limit);
  }

  // Arms the stream's timer for the next step; false when no time is left.
  bool arm(std::chrono::milliseconds limit, const char* phase) {
    auto left = limit_for(limit, phase);
    if (left == Clock::duration::zero()) {
      return false;
    }
    beast::get_lowest_layer(stream_).expires_after(left);
    return true;
  }

  void fail_timeout() {
    fail(FailureKind::timeout, fmt::format("{} ({})", phase_, seconds_text(phase_limit_)));
  }

  std::optional<http::request<http::string_body>> build_request() {
    http::verb verb = http::string_to_verb(request_.method);
    if (verb == http::verb::unknown) {
      fail(FailureKind::http_protocol, fmt::format("unknown method \"{}\"", request_.method));
      return std::nullopt;
    }
    if (!request_.path.starts_with('/')) {
      fail(FailureKind::http_protocol,
           fmt::format("request path \"{}\" does not start with '/'", request_.path));
      return std::nullopt;
    }
    http::request<http::string_body> message{verb, url_.base_path + request_.path, 11};
    message.set(http::field::host, url_.authority());
    message.set(http::field::user_agent, "sanctum/" SANCTUM_VERSION);
    for (const auto& [name, value] : request_.headers) {
      message.set(name, value);
    }
    if (!request_.content_type.empty()) {
      message.set(http::field::content_type, request_.content_type);
    }
    message.body() = request_.body;
    // One exchange per connection: Connection: close lets the server end the
    // connection as soon as the response is sent.
    message.keep_alive(false);
    message.prepare_payload();
    return message;
  }

  awaitable<bool> connect() {
    auto executor = co_await net::this_coro::executor;
    auto left = limit_for(timeouts_.connect, "connect");
    if (left == Clock::duration::zero()) {
      co_return false;
    }
    tcp::resolver resolver(executor);
    net::steady_timer timer(executor, left);
    auto flags = url_.host_is_ip ? tcp::resolver::numeric_host : tcp::resolver::flags{};
    auto resolved = co_await (
        resolver.async_resolve(url_.host, std::to_string(url_.port), flags, kUseTuple) ||
        timer.async_wait(kUseTuple));
    if (resolved.index() == 1) {
      fail_timeout();
      co_return false;
    }
    auto [resolve_error, endpoints] = std::get<0>(resolved);
    if (resolve_error) {
      fail(FailureKind::resolve, fmt::format("{}: {}", url_.host, resolve_error.message()));
      co_return false;
    }

    if (!arm(timeouts_.connect, "connect")) {
      co_return false;
    }
    auto [ec, endpoint] =
        co_await beast::get_lowest_layer(stream_).async_connect(endpoints, kUseTuple);
    if (ec == beast::error::timeout) {
      fail_timeout();
      co_return false;
    }
    if (ec == net::error::connection_refused) {
      fail(FailureKind::connect_refused, fmt::format("nothing accepts connections on {}",
                                                     url_.authority()));
      co_return false;
    }
    if (ec) {
      fail(FailureKind::connect, fmt::format("{}: {}", url_.authority(), ec.message()));
      co_return false;
    }
    response.timing.connected = elapsed();
    co_return true;
  }

  // Tells OpenSSL which name the server certificate must carry. An IP literal
  // must match a subjectAltName IP entry and is not sent as SNI, which
  // RFC 6066 section 3 reserves for DNS names.
  bool expect_server_name() {
    SSL* ssl = stream_.native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (url_.host_is_ip) {
      return X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str()) == 1;
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set_tlsext_host_name(ssl, url_.host.c_str()) == 1 &&
           SSL_set1_host(ssl, url_.host.c_str()) == 1;
  }

  void fail_handshake(const beast::error_code& ec) {
    long verify = SSL_get_verify_result(stream_.native_handle());
    if (ec == beast::error::timeout) {
      fail_timeout();
    } else if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      fail(FailureKind::server_name_mismatch,
           fmt::format("the server certificate is not valid for {}", url_.host));
    } else if (verify != X509_V_OK) {
      fail(FailureKind::tls_handshake,
           fmt::format("server certificate: {}", X509_verify_cert_error_string(verify)));
    } else if (is_closed_by_peer(ec)) {
      fail(FailureKind::tls_handshake, "the server closed the connection during the handshake");
    } else {
      fail(FailureKind::tls_handshake, ec.message());
    }
  }

  awaitable<bool> handshake() {
    if (!expect_server_name()) {
      fail(FailureKind::tls_handshake,
           fmt::format("cannot set the expected server name {}", url_.host));
      co_return false;
    }
    if (!arm(timeouts_.handshake, "handshake")) {
      co_return false;
    }
    auto [ec] = co_await stream_.async_handshake(ssl::stream_base::client, kUseTuple);
    if (ec) {
      fail_handshake(ec);
      co_return false;
    }
    response.timing.handshake_done = elapsed();
    SSL* ssl = stream_.native_handle();
    response.tls_version = SSL_get_version(ssl);
    tls::X509Ptr server_cert(SSL_get1_peer_certificate(ssl));
    if (server_cert) {
      response.server_cert_sha256 = tls::sha256_fingerprint(server_cert.get());
    }
    co_return true;
  }

  // Classifies an error from writing the request or reading the response.
  void fail_transfer(const beast::error_code& ec) {
    bool before_head = response.status == 0;
    if (ec == beast::error::timeout) {
      fail_timeout();
    } else if (ec == http::error::body_limit) {
      fail(FailureKind::body_too_large,
           fmt::format("the response body exceeds {} bytes", request_.max_body_bytes));
    } else if (before_head && ec.category() == net::error::get_ssl_category()) {
      // With TLS 1.3 the client finishes its side of the handshake before the
      // server has checked the client certificate, so a rejected certificate
      // shows up as an alert on the first read.
      fail(FailureKind::tls_handshake, ec.message());
    } else if (is_closed_by_peer(ec)) {
      fail(FailureKind::connection_closed,
           before_head ? "the server closed the connection before the response head"
                       : "the server closed the connection before the end of the body");
    } else if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
      fail(FailureKind::http_protocol, ec.message());
    } else {
      fail(FailureKind::connection_closed, ec.message());
    }
  }

  awaitable<bool> write_request(http::request<http::string_body>& message) {
    if (!arm(timeouts_.first_byte, "first-byte")) {
      co_return false;
    }
    auto [ec, written] = co_await http::async_write(stream_, message, kUseTuple);
    if (ec) {
      fail_transfer(ec);
      co_return false;
    }
    co_return true;
  }

  awaitable<bool> read_head() {
    parser_.header_limit(kMaxHeaderBytes);
    parser_.body_limit(request_.max_body_bytes);
    auto [ec, read] = co_await http::async_read_header(stream_, buffer_, parser_, kUseTuple);
    if (ec) {
      fail_transfer(ec);
      co_return false;
    }
    response.timing.head_received = elapsed();
    const auto& head = parser_.get();
    response.status = head.result_int();
    for (const auto& field : head) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    co_return true;
  }

  awaitable<bool> read_body() {
    char piece[kReadPieceBytes];
    while (!parser_.is_done()) {
      parser_.get().body().data = piece;
      parser_.get().body().size = sizeof piece;
      if (!arm(timeouts_.idle, "idle")) {
        co_return false;
      }
      auto [ec, read] = co_await http::async_read_some(stream_, buffer_, parser_, kUseTuple);
      std::size_t filled = sizeof piece - parser_.get().body().size;
      if (filled > 0) {
        response.body.append(piece, filled);
        if (on_body_) {
          on_body_(std::string_view(piece, filled), Clock::now());
        }
      }
      if (ec == http::error::need_buffer) {
        continue;
      }
      if (ec) {
        fail_transfer(ec);
        co_return false;
      }
    }
    response.timing.finished = elapsed();
    // The client skips the TLS close_notify exchange because the response is
    // complete, and a server that never sends its own close_notify would hold
    // the client until the timer fires.
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
    co_return true;
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  const HttpsUrl& url_;
  const Request& request_;
  const Timeouts& timeouts_;
  const BodyCallback& on_body_;
  Clock::time_point deadline_{};
  const char* phase_ = "connect";
  std::chrono::milliseconds phase_limit_{0};
};

}  // namespace

Response MtlsClient::send(const HttpsUrl& url, const Request& request, const Timeouts& timeouts,
                          const BodyCallback& on_body) const {
  net::io_context io;
  Exchange exchange(io, *context_, url, request, timeouts, on_body);
  net::co_spawn(io, exchange.run(), [](std::exception_ptr error) {
    if (error) {
      std::rethrow_exception(error);
    }
  });
  io.run();
  if (exchange.response.timing.finished == Clock::duration::zero()) {
    exchange.response.timing.finished = Clock::now() - exchange.response.timing.started;
  }
  return std::move(exchange.response);
}

}  // namespace sanctum::client
