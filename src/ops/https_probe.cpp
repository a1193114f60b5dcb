#include "ops/https_probe.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

#include "tls/identity.hpp"

namespace sanctum::ops {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

std::string host_header(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

Result<tcp::endpoint> endpoint_of(const std::string& host, std::uint16_t port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    return make_error(fmt::format("invalid address \"{}\": give an IP literal such as 127.0.0.1",
                                  host));
  }
  return tcp::endpoint(address, port);
}

Result<void> load_client_files(ssl::context& context, const MtlsRequest& request) {
  beast::error_code ec;
  context.load_verify_file(request.ca_file.string(), ec);
  if (ec) {
    return make_error(fmt::format("cannot load CA {}: {}", request.ca_file.string(), ec.message()));
  }
  context.use_certificate_chain_file(request.cert_file.string(), ec);
  if (ec) {
    return make_error(fmt::format("cannot load client certificate {}: {}",
                                  request.cert_file.string(), ec.message()));
  }
  context.use_private_key_file(request.key_file.string(), ssl::context::pem, ec);
  if (ec) {
    return make_error(fmt::format("cannot load client key {}: {}", request.key_file.string(),
                                  ec.message()));
  }
  return {};
}

net::awaitable<void> fetch(ssl::context& context, const MtlsRequest& request,
                           tcp::endpoint endpoint, std::optional<Result<MtlsResponse>>& out) {
  auto executor = co_await net::this_coro::executor;
  beast::ssl_stream<beast::tcp_stream> stream(executor, context);
  stream.set_verify_mode(ssl::verify_peer);
  stream.set_verify_callback(ssl::host_name_verification(request.host));
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(request.timeout);

  auto [connect_ec] = co_await lowest.async_connect(endpoint, kUseTuple);
  if (connect_ec) {
    out = make_error(fmt::format("connect to {} failed: {}", host_header(request.host, request.port),
                                 connect_ec.message()));
    co_return;
  }
  auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
  if (handshake_ec) {
    out = make_error(fmt::format("TLS handshake with {} failed: {}",
                                 host_header(request.host, request.port), handshake_ec.message()));
    co_return;
  }
  MtlsResponse response;
  response.tls_version = SSL_get_version(stream.native_handle());
  if (X509* server_cert = SSL_get1_peer_certificate(stream.native_handle())) {
    response.server_fingerprint = tls::sha256_fingerprint(server_cert);
    X509_free(server_cert);
  }

  http::request<http::empty_body> get{http::verb::get, request.path, 11};
  get.set(http::field::host, host_header(request.host, request.port));
  get.set(http::field::user_agent, "sanctum-verify");
  get.set(http::field::connection, "close");
  auto [write_ec, written] = co_await http::async_write(stream, get, kUseTuple);
  if (write_ec) {
    out = make_error(fmt::format("sending the request failed: {}", write_ec.message()));
    co_return;
  }
  beast::flat_buffer buffer;
  http::response<http::string_body> reply;
  auto [read_ec, read] = co_await http::async_read(stream, buffer, reply, kUseTuple);
  if (read_ec) {
    // The server ends the handshake after verifying the client certificate
    // in TLS 1.3, so a rejected certificate shows up here, on the first read.
    out = make_error(fmt::format("reading the response failed: {}", read_ec.message()));
    co_return;
  }
  response.status = reply.result_int();
  response.body = std::move(reply.body());
  // The response is complete, so a failed close_notify exchange changes nothing.
  auto shutdown_result = co_await stream.async_shutdown(kUseTuple);
  (void)shutdown_result;
  out = std::move(response);
}

net::awaitable<void> probe_plain(tcp::endpoint endpoint, std::string request,
                                 std::chrono::milliseconds timeout, PlainResult& out) {
  auto executor = co_await net::this_coro::executor;
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  auto [connect_ec] = co_await stream.async_connect(endpoint, kUseTuple);
  if (connect_ec == net::error::connection_refused) {
    out = {PlainOutcome::connection_refused, 0, connect_ec.message()};
    co_return;
  }
  if (connect_ec == beast::error::timeout) {
    out = {PlainOutcome::timeout, 0, "connect timed out"};
    co_return;
  }
  if (connect_ec) {
    out = {PlainOutcome::error, 0, connect_ec.message()};
    co_return;
  }
  auto [write_ec, written] = co_await net::async_write(stream, net::buffer(request), kUseTuple);
  std::string received;
  char chunk[1024];
  beast::error_code read_ec = write_ec;
  while (!read_ec && received.size() < 4096) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(chunk), kUseTuple);
    received.append(chunk, n);
    read_ec = ec;
  }
  if (received.rfind("HTTP/1.", 0) == 0 && received.size() >= 12) {
    out.outcome = PlainOutcome::http_response;
    out.http_status = static_cast<unsigned>(std::atoi(received.substr(9, 3).c_str()));
    out.detail = received.substr(0, received.find("\r\n"));
  } else if (received.size() >= 2 && static_cast<unsigned char>(received[0]) == 0x15 &&
             received[1] == 0x03) {
    out = {PlainOutcome::tls_alert, 0, "TLS alert record (content type 21)"};
  } else if (!received.empty()) {
    std::string shown;
    for (unsigned char c : received.substr(0, 16)) {
      shown += fmt::format("{:02x}", c);
    }
    out = {PlainOutcome::other_bytes, 0, "first bytes " + shown};
  } else if (read_ec == net::error::connection_reset) {
    out = {PlainOutcome::reset, 0, read_ec.message()};
  } else if (read_ec == net::error::eof) {
    out = {PlainOutcome::closed, 0, "closed without a response"};
  } else if (read_ec == beast::error::timeout) {
    out = {PlainOutcome::timeout, 0, "no answer before the timeout"};
  } else {
    out = {PlainOutcome::error, 0, read_ec.message()};
  }
}

}  // namespace

Result<MtlsResponse> beast_mtls_get(const MtlsRequest& request) {
  auto endpoint = endpoint_of(request.host, request.port);
  if (!endpoint) {
    return endpoint.error();
  }
  ssl::context context(ssl::context::tls_client);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (auto loaded = load_client_files(context, request); !loaded) {
    return loaded.error();
  }
  net::io_context io;
  std::optional<Result<MtlsResponse>> out;
  net::co_spawn(io, fetch(context, request, *endpoint, out), net::detached);
  io.run();
  if (!out) {
    return make_error("the mTLS request ended without a result");
  }
  return std::move(*out);
}

PlainResult plain_http_get(const std::string& host, std::uint16_t port, const std::string& path,
                           std::chrono::milliseconds timeout) {
  auto endpoint = endpoint_of(host, port);
  if (!endpoint) {
    return {PlainOutcome::error, 0, endpoint.error().message};
  }
  std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                                    path, host_header(host, port));
  net::io_context io;
  PlainResult out;
  net::co_spawn(io, probe_plain(*endpoint, std::move(request), timeout, out), net::detached);
  io.run();
  return out;
}

std::string to_string(PlainOutcome outcome) {
  switch (outcome) {
    case PlainOutcome::connection_refused: return "connection refused";
    case PlainOutcome::reset: return "TCP reset";
    case PlainOutcome::tls_alert: return "TLS alert";
    case PlainOutcome::http_response: return "HTTP response";
    case PlainOutcome::closed: return "closed without a response";
    case PlainOutcome::timeout: return "timeout";
    case PlainOutcome::other_bytes: return "non-HTTP bytes";
    case PlainOutcome::error: return "socket error";
  }
  return "unknown";
}

}  // namespace sanctum::ops
