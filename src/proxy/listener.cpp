#include "proxy/listener.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "http/messages.hpp"
#include "obs/counters.hpp"
#include "obs/log.hpp"
#include "obs/status.hpp"
#include "proxy/exchange.hpp"
#include "tls/identity.hpp"
#include "tls/stream.hpp"
#include "util/port_owner.hpp"

namespace sanctum::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using net::awaitable;
using obs::Counter;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

std::string endpoint_text(const tcp::endpoint& endpoint) {
  if (endpoint.address().is_v6()) {
    return fmt::format("[{}]:{}", endpoint.address().to_string(), endpoint.port());
  }
  return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

// Registers a connection with its worker for as long as it lives, and keeps
// the active-connections gauge.
class ConnectionScope {
 public:
  ConnectionScope(Worker& worker, const tcp::endpoint& peer) : worker_(worker) {
    connection_.id = next_connection_id();
    connection_.peer = endpoint_text(peer);
    auto address = peer.address();
    connection_.peer_is_loopback =
        address.is_loopback() ||
        (address.is_v6() && address.to_v6().is_v4_mapped() &&
         net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).is_loopback());
    worker_.add(connection_);
    obs::counters().active_connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~ConnectionScope() {
    worker_.remove(connection_);
    obs::counters().active_connections.fetch_sub(1, std::memory_order_relaxed);
  }
  ConnectionScope(const ConnectionScope&) = delete;
  ConnectionScope& operator=(const ConnectionScope&) = delete;

  Connection& connection() { return connection_; }

 private:
  Worker& worker_;
  Connection connection_;
};

// Returns the drain hook of a connection: it closes `socket`, which must
// outlive the connection's registration with its worker.
std::function<void()> socket_closer(tcp::socket& socket) {
  return [&socket] {
    beast::error_code ignored;
    socket.close(ignored);
  };
}

obs::RateLimiter& handshake_log_limiter() {
  static obs::RateLimiter limiter(10, std::chrono::seconds(60));
  return limiter;
}

void write_rejection(const ListenerRuntime& listener, const Connection& connection,
                     std::string transport, std::string error, unsigned status = 0,
                     std::uint64_t bytes_out = 0) {
  if (listener.access_log == nullptr) {
    return;
  }
  obs::AccessRecord record;
  record.time = std::chrono::system_clock::now();
  record.connection_id = connection.id;
  record.listener = listener.config.name;
  record.transport = std::move(transport);
  record.peer = connection.peer;
  record.status = status;
  record.bytes_out = bytes_out;
  record.outcome = "rejected";
  record.error = std::move(error);
  listener.access_log->write(record);
}

Counter counter_for(tls::HandshakeFailure failure) {
  switch (failure) {
    case tls::HandshakeFailure::no_client_cert:
      return Counter::tls_fail_no_client_cert;
    case tls::HandshakeFailure::unknown_ca:
      return Counter::tls_fail_unknown_ca;
    case tls::HandshakeFailure::expired:
      return Counter::tls_fail_expired;
    case tls::HandshakeFailure::not_yet_valid:
      return Counter::tls_fail_not_yet_valid;
    case tls::HandshakeFailure::wrong_usage:
      return Counter::tls_fail_wrong_usage;
    case tls::HandshakeFailure::revoked:
      return Counter::tls_fail_revoked;
    case tls::HandshakeFailure::client_rejected_server:
      return Counter::tls_fail_client_rejected_server;
    case tls::HandshakeFailure::other:
      break;
  }
  return Counter::tls_fail_other;
}

void log_handshake_failure(const ListenerRuntime& listener, const Connection& connection,
                           const tls::HandshakeFailureInfo& info) {
  auto log = obs::logger("tls");
  log->debug("[c{}] handshake from {} failed on listener {}: {} ({})", connection.id,
             connection.peer, listener.config.name, tls::to_string(info.reason), info.detail);
  std::uint64_t suppressed = 0;
  if (handshake_log_limiter().allow(suppressed)) {
    log->info("handshake with {} failed on listener {}: {} ({}){}", connection.peer,
              listener.config.name, tls::to_string(info.reason), info.detail,
              suppressed > 0 ? fmt::format(" ({} more refusals not logged)", suppressed) : "");
  }
}

// Responds to plain HTTP on a TLS listener with a 400 that gives the reason,
// then closes. Nothing is forwarded, so the client never gets a 2xx.
awaitable<void> reject_plain_http(tcp::socket& socket, Connection& connection,
                                  const ListenerRuntime& listener) {
  obs::counters().add(Counter::tls_plain_http_rejected);
  std::uint64_t suppressed = 0;
  if (handshake_log_limiter().allow(suppressed)) {
    obs::logger("tls")->info("plain HTTP from {} on TLS listener {} answered with 400",
                             connection.peer, listener.config.name);
  }
  auto response = sanctum::http::json_error(
      http::status::bad_request,
      "this port requires TLS with a client certificate: use https:// and present a certificate "
      "issued by the gateway's CA",
      "invalid_request_error", "tls_required", 11, false);
  write_rejection(listener, connection, "plain-on-tls", "tls-required", 400,
                  response.body().size());
  connection.arm_deadline(socket, std::chrono::seconds(5));
  auto [ec, n] = co_await http::async_write(socket, response, kUseTuple);
  if (ec) {
    co_return;
  }
  // Half-close, then drain what the client still sends, so the close does not
  // turn into a reset that could discard the 400 before the client reads it.
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  connection.arm_deadline(socket, std::chrono::seconds(1));
  char sink[4096];
  for (std::size_t total = 0; total < 64 * 1024;) {
    auto [rec, rn] = co_await socket.async_read_some(net::buffer(sink), kUseTuple);
    if (rec) {
      break;
    }
    total += rn;
  }
  connection.disarm_deadline();
}

// Reads the client's first byte without taking it off the socket, so that
// OpenSSL later reads the whole ClientHello itself.
awaitable<beast::error_code> peek_first_byte(tcp::socket& socket, unsigned char& byte) {
  for (;;) {
    ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 1) {
      co_return beast::error_code{};
    }
    if (n == 0) {
      co_return beast::error_code{net::error::eof};
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      co_return beast::error_code(errno, net::error::get_system_category());
    }
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, kUseTuple);
    if (ec) {
      co_return ec;
    }
  }
}

// A TLS handshake record starts with content type 22; an HTTP request starts
// with a method name.
constexpr unsigned char kTlsHandshakeRecord = 0x16;

awaitable<void> run_tls_connection(tcp::socket socket, tcp::endpoint remote,
                                   const ListenerRuntime& listener, Worker& worker) {
  ConnectionScope scope(worker, remote);
  Connection& connection = scope.connection();
  connection.close_socket = socket_closer(socket);

  connection.arm_deadline(socket, listener.global->timeouts.handshake);
  unsigned char first = 0;
  if (auto ec = co_await peek_first_byte(socket, first); ec) {
    if (connection.deadline_expired) {
      obs::counters().add(Counter::tls_handshake_timeout);
    }
    co_return;
  }
  if (first != kTlsHandshakeRecord) {
    co_await reject_plain_http(socket, connection, listener);
    co_return;
  }

  // The snapshot stays alive with this connection, whatever reloads do.
  std::shared_ptr<tls::TlsMaterial> material = listener.tls->current();
  tls::ServerStream stream(std::move(socket), material->context.native_handle());
  connection.close_socket = socket_closer(stream.socket());
  // The handshake deadline still runs; it now applies to the moved socket.
  connection.deadline_socket = &stream.socket();
  auto [hec] = co_await stream.async_handshake(kUseTuple);
  if (hec) {
    if (connection.deadline_expired) {
      obs::counters().add(Counter::tls_handshake_timeout);
      write_rejection(listener, connection, "mtls", "handshake-timeout");
      co_return;
    }
    auto info = tls::classify_handshake_failure(stream.native_handle(), hec);
    obs::counters().add(counter_for(info.reason));
    log_handshake_failure(listener, connection, info);
    write_rejection(listener, connection, "mtls", tls::to_string(info.reason));
    co_return;
  }
  connection.disarm_deadline();
  obs::counters().add(Counter::tls_handshake_ok);

  Peer peer;
  peer.connection = &connection;
  peer.identity = tls::identity_of(SSL_get0_peer_certificate(stream.native_handle()));
  tls::release_client_chain(stream.native_handle());
  peer.socket = &stream.socket();
  obs::gateway_status().record_client_certificate(
      peer.identity->display_name(), peer.identity->serial_hex, peer.identity->not_after);
  obs::logger("tls")->debug("[c{}] {} verified as \"{}\" (serial {})", connection.id,
                            connection.peer, peer.identity->display_name(),
                            peer.identity->serial_hex);

  beast::flat_buffer buffer;
  co_await serve_requests(stream, buffer, listener, worker, peer);

  connection.arm_deadline(stream.socket(), std::chrono::milliseconds(500));
  co_await stream.async_shutdown(kUseTuple);
  connection.disarm_deadline();
}

awaitable<void> run_plain_connection(tcp::socket socket, tcp::endpoint remote,
                                     const ListenerRuntime& listener, Worker& worker) {
  ConnectionScope scope(worker, remote);
  Connection& connection = scope.connection();
  connection.close_socket = socket_closer(socket);
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  beast::flat_buffer buffer;
  Peer peer;
  peer.connection = &connection;
  peer.socket = &socket;
  co_await serve_requests(socket, buffer, listener, worker, peer);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor, const ListenerRuntime& listener,
                            util::IoPool& pool, std::vector<std::unique_ptr<Worker>>& workers) {
  static std::atomic<std::size_t> round_robin{0};
  auto log = obs::logger("proxy");
  for (;;) {
    std::size_t index = round_robin.fetch_add(1, std::memory_order_relaxed) % pool.size();
    auto [ec, socket] = co_await acceptor->async_accept(pool.context(index), kUseTuple);
    if (!acceptor->is_open() || ec == net::error::operation_aborted) {
      co_return;
    }
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning.
      log->warn("accept on listener {} failed: {}; retrying in 100 ms", listener.config.name,
                ec.message());
      net::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    obs::counters().add(Counter::proxy_connections_accepted);
    if (static_cast<std::size_t>(obs::counters().active_connections.load()) >=
        listener.global->limits.max_connections) {
      obs::counters().add(Counter::proxy_connections_rejected);
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) {
      // The peer reset the connection before it could be registered.
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    Worker& worker = *workers[index];
    auto executor = socket.get_executor();
    auto on_exit = [log, name = listener.config.name](std::exception_ptr error) {
      if (!error) {
        return;
      }
      obs::counters().add(Counter::proxy_session_error);
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        log->warn("connection on listener {} ended by an unexpected error: {}", name, e.what());
      }
    };
    if (listener.config.tls) {
      net::co_spawn(executor, run_tls_connection(std::move(socket), remote, listener, worker), on_exit);
    } else {
      net::co_spawn(executor, run_plain_connection(std::move(socket), remote, listener, worker), on_exit);
    }
  }
}

std::string describe_bind_failure(const config::BindAddress& address, const beast::error_code& ec) {
  std::string text = fmt::format("cannot listen on {}: {}", config::to_string(address), ec.message());
  if (ec == net::error::address_in_use) {
    if (auto owner = util::find_port_owner(address.host, address.port)) {
      text += fmt::format("; held by pid {} ({})", owner->pid,
                          owner->command_line.empty() ? "command line not readable"
                                                      : owner->command_line);
    }
    text += fmt::format(
        "; stop that process or choose another port. If a service manager keeps restarting it, "
        "`sanctum service conflicts --dir FOLDER --port {}` lists the launchd or systemd "
        "definitions in FOLDER that bind this port",
        address.port);
  } else if (ec == boost::system::errc::address_not_available) {
    text += "; no interface on this host has that address";
  } else if (ec == net::error::access_denied) {
    text += "; ports below 1024 need root or CAP_NET_BIND_SERVICE";
  }
  return text;
}

}  // namespace

Result<std::unique_ptr<Listener>> Listener::bind(const ListenerRuntime& runtime,
                                                 util::IoPool& pool,
                                                 std::vector<std::unique_ptr<Worker>>& workers) {
  std::unique_ptr<Listener> listener(new Listener(runtime, pool, workers));
  for (const auto& address : runtime.config.bind) {
    beast::error_code ec;
    tcp::endpoint endpoint(net::ip::make_address(address.host, ec), address.port);
    auto acceptor = std::make_shared<tcp::acceptor>(pool.context(0));
    if (!ec) {
      acceptor->open(endpoint.protocol(), ec);
    }
    if (!ec && endpoint.address().is_v6()) {
      acceptor->set_option(net::ip::v6_only(true), ec);
    }
    if (!ec) {
      // SO_REUSEADDR only lets a restart bind over TIME_WAIT connections; on
      // Linux it never lets two listening sockets share a port.
      acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor->bind(endpoint, ec);
    }
    if (!ec) {
      acceptor->listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return make_error(fmt::format("listener {}: {}", runtime.config.name,
                                    describe_bind_failure(address, ec)));
    }
    listener->endpoints_.push_back(acceptor->local_endpoint());
    listener->acceptors_.push_back(std::move(acceptor));
  }
  return listener;
}

void Listener::start() {
  for (auto& acceptor : acceptors_) {
    net::co_spawn(acceptor->get_executor(), accept_loop(acceptor, runtime_, pool_, workers_),
                  net::detached);
  }
}

void Listener::close() {
  for (auto& acceptor : acceptors_) {
    net::post(acceptor->get_executor(), [acceptor] {
      beast::error_code ignored;
      acceptor->close(ignored);
    });
  }
}

}  // namespace sanctum::proxy
