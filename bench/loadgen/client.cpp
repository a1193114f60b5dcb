#include "client.hpp"

#include <stdexcept>

#include <boost/asio/ssl/error.hpp>
#include <nlohmann/json.hpp>

namespace sanctum::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using net::awaitable;
using net::use_awaitable;

std::unique_ptr<ssl::context> make_client_context(const Options& options, bool resume) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
  boost::system::error_code ec;
  context->load_verify_file(options.ca_file, ec);
  if (ec) {
    throw std::runtime_error("--ca " + options.ca_file + ": " + ec.message());
  }
  context->use_certificate_chain_file(options.cert_file, ec);
  if (ec) {
    throw std::runtime_error("--cert " + options.cert_file + ": " + ec.message());
  }
  context->use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error("--key " + options.key_file + ": " + ec.message());
  }
  context->set_verify_mode(ssl::verify_peer);
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(native, kAlpn, sizeof kAlpn);
  // Sessions are kept by the caller, one per worker, and never in a shared
  // cache: without --resume every handshake is a full one.
  SSL_CTX_set_session_cache_mode(native, resume ? SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL
                                                : SSL_SESS_CACHE_OFF);
  return context;
}

awaitable<TcpStream> connect_plain(const Dialer& dialer) {
  TcpStream stream(co_await net::this_coro::executor);
  stream.expires_after(dialer.timeout);
  co_await stream.async_connect(dialer.endpoint, use_awaitable);
  stream.socket().set_option(net::ip::tcp::no_delay(true));
  co_return stream;
}

awaitable<std::unique_ptr<TlsStream>> connect_tls(const Dialer& dialer, SSL_SESSION* session) {
  auto stream = std::make_unique<TlsStream>(co_await connect_plain(dialer), *dialer.tls);
  SSL* ssl = stream->native_handle();
  SSL_set_tlsext_host_name(ssl, dialer.server_name.c_str());
  SSL_set1_host(ssl, dialer.server_name.c_str());
  if (session != nullptr) {
    SSL_set_session(ssl, session);
  }
  beast::get_lowest_layer(*stream).expires_after(dialer.timeout);
  co_await stream->async_handshake(ssl::stream_base::client, use_awaitable);
  co_return stream;
}

Request models_request() {
  Request request{http::verb::get, "/v1/models", 11};
  request.set(http::field::host, "localhost");
  request.set(http::field::user_agent, "sanctum-loadgen");
  return request;
}

Request chat_request(const std::string& content, bool stream, bool emit_timestamps) {
  nlohmann::json body = {{"model", "sanctum-echo"},
                         {"messages", nlohmann::json::array({{{"role", "user"}, {"content", content}}})},
                         {"stream", stream}};
  if (emit_timestamps) {
    body["sanctum_emit_timestamps"] = true;
  }
  Request request{http::verb::post, "/v1/chat/completions", 11};
  request.set(http::field::host, "localhost");
  request.set(http::field::user_agent, "sanctum-loadgen");
  request.set(http::field::content_type, "application/json");
  request.body() = body.dump();
  request.prepare_payload();
  return request;
}

}  // namespace sanctum::bench
