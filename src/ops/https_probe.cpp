#include "ops/https_probe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <fmt/format.h>

#include "client/mtls_client.hpp"
#include "client/url.hpp"

namespace sanctum::ops {

namespace net = boost::asio;
namespace beast = boost::beast;
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

Result<MtlsResponse> mtls_get(const MtlsRequest& request) {
  auto url = client::parse_https_url("https://" + host_header(request.host, request.port));
  if (!url) {
    return url.error();
  }
  auto mtls = client::MtlsClient::create(
      client::ClientFiles{request.ca_file, request.cert_file, request.key_file});
  if (!mtls) {
    return mtls.error();
  }
  client::Request get;
  get.path = request.path;
  client::Timeouts timeouts;
  timeouts.connect = request.timeout;
  timeouts.handshake = request.timeout;
  timeouts.first_byte = request.timeout;
  timeouts.idle = request.timeout;
  timeouts.total = request.timeout;
  client::Response response = mtls->send(*url, get, timeouts);
  if (response.status == 0) {
    return make_error(fmt::format("GET {}{} failed: {}", url->text, request.path, response.error));
  }
  return MtlsResponse{response.status, std::move(response.body), response.tls_version,
                      response.server_cert_sha256};
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
