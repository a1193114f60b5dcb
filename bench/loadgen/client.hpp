#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "options.hpp"

namespace sanctum::bench {

using TcpStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// The client side of an mTLS connection: TLS 1.3 only, the server
// certificate verified against options.ca_file and checked for
// options.server_name, the client certificate presented, ALPN http/1.1.
// With `resume`, the context keeps no session cache of its own: callers
// store the session of one connection and offer it on the next. Throws
// std::runtime_error naming the file that failed to load.
std::unique_ptr<boost::asio::ssl::context> make_client_context(const Options& options,
                                                               bool resume);

// Connection target and settings. The endpoint is a loopback address,
// because main() rejects any other host.
struct Dialer {
  boost::asio::ip::tcp::endpoint endpoint;
  boost::asio::ssl::context* tls = nullptr;  // null for plain HTTP
  std::string server_name;
  std::chrono::milliseconds timeout{5000};
};

// Opens a TCP connection with TCP_NODELAY. Throws boost::system::system_error.
boost::asio::awaitable<TcpStream> connect_plain(const Dialer& dialer);

// Opens a TCP connection and completes the TLS handshake, offering
// `session` for resumption when it is not null. Throws
// boost::system::system_error.
boost::asio::awaitable<std::unique_ptr<TlsStream>> connect_tls(const Dialer& dialer,
                                                               SSL_SESSION* session);

// GET /v1/models.
Request models_request();
// POST /v1/chat/completions with `content` as the one user message.
Request chat_request(const std::string& content, bool stream, bool emit_timestamps);

// Sends `request` and reads the whole response. Throws
// boost::system::system_error on an I/O error or timeout.
template <class Stream>
boost::asio::awaitable<unsigned> exchange(Stream& stream, boost::beast::flat_buffer& buffer,
                                          Request& request, std::chrono::milliseconds timeout) {
  namespace http = boost::beast::http;
  auto& tcp = boost::beast::get_lowest_layer(stream);
  tcp.expires_after(timeout);
  co_await http::async_write(stream, request, boost::asio::use_awaitable);
  Response response;
  tcp.expires_after(timeout);
  co_await http::async_read(stream, buffer, response, boost::asio::use_awaitable);
  co_return response.result_int();
}

}  // namespace sanctum::bench
