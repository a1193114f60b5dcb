#pragma once

// An HTTPS client that always presents a client certificate (mutual TLS) and
// verifies the server against a private CA and the host in the URL. It has
// no plain-HTTP code path and no bearer-token option: every request it sends
// is authenticated by the certificate alone.

#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "client/url.hpp"
#include "util/result.hpp"

namespace sanctum::client {

// The three PEM files a client needs.
struct ClientFiles {
  std::filesystem::path ca_file;    // CA bundle the server certificate must chain to
  std::filesystem::path cert_file;  // client certificate, optionally followed by intermediates
  std::filesystem::path key_file;   // unencrypted private key of the client certificate
};

// Facts about the client's own certificate, for logs and expiry warnings.
struct ClientCertificate {
  std::string common_name;
  std::string serial_hex;          // uppercase hex, no separators
  std::string sha256_fingerprint;  // lowercase hex of the DER encoding
  std::time_t not_after = 0;
};

// Limits for one exchange. Each phase limit is also cut to what is left of
// `total`, so an exchange never runs longer than `total`.
struct Timeouts {
  std::chrono::milliseconds connect{5'000};      // DNS lookup and TCP connect
  std::chrono::milliseconds handshake{10'000};   // TLS handshake
  std::chrono::milliseconds first_byte{60'000};  // request written to response head read
  std::chrono::milliseconds idle{60'000};        // silence between two body reads
  std::chrono::milliseconds total{120'000};      // whole exchange; 0 means no limit
};

struct Request {
  std::string method = "GET";
  std::string path = "/";  // appended to the URL's base path; may carry a query string
  std::string body;
  std::string content_type;  // sent when not empty
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t max_body_bytes = 16 * 1024 * 1024;  // larger responses fail as body-too-large
};

// Called for every piece of the response body as it is read, with the time
// it arrived. Pieces follow the reads from the socket, not SSE events or
// HTTP chunks.
using BodyCallback =
    std::function<void(std::string_view piece, std::chrono::steady_clock::time_point arrival)>;

// Category of an exchange failure. to_string() gives the short name used as
// the prefix of Response::error.
enum class FailureKind {
  none,
  resolve,               // "resolve-failed": the host name did not resolve
  connect_refused,       // "connect-refused": nothing listens on the port
  connect,               // "connect-failed": any other connect error
  timeout,               // "timeout": a phase or the total limit ran out
  tls_handshake,         // "tls-handshake": handshake failed or the server sent an alert
  server_name_mismatch,  // "server-name-mismatch": certificate not valid for the URL's host
  connection_closed,     // "connection-closed": the server closed before the response ended
  http_protocol,         // "http-protocol": the response is not valid HTTP/1.1
  body_too_large,        // "body-too-large": over Request::max_body_bytes
  http_status,           // "http-status": a complete response whose status is not 2xx
};

const char* to_string(FailureKind kind);

// Time from the start of send() to the end of each phase. A phase that was
// not reached stays zero.
struct Timing {
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::duration connected{};
  std::chrono::steady_clock::duration handshake_done{};
  std::chrono::steady_clock::duration head_received{};
  std::chrono::steady_clock::duration finished{};
};

// The outcome of one exchange. A non-2xx response is a failure of kind
// http_status, but its status, headers and body are still filled in.
struct Response {
  FailureKind failure = FailureKind::none;
  // "" when ok. Otherwise the kind's short name, then ": DETAIL" where there
  // is one, e.g. "timeout: handshake", "http-status 503",
  // "tls-handshake: server certificate: certificate has expired".
  std::string error;
  unsigned status = 0;  // 0 when no response head arrived
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string tls_version;         // "TLSv1.3"; "" when no handshake finished
  std::string server_cert_sha256;  // lowercase hex; "" when no handshake finished
  Timing timing;

  bool ok() const { return failure == FailureKind::none; }
  // Value of the first header called `name` (case-insensitive), "" when absent.
  std::string header(std::string_view name) const;
};

// Files and TLS settings loaded once, used for any number of exchanges.
// send() may be called from several threads at once.
class MtlsClient {
 public:
  // Reads the CA bundle, the client certificate and its key, checks that the
  // key matches the certificate, and builds a TLS context: TLS 1.2 or later,
  // AEAD cipher suites only for TLS 1.2, server certificate verification
  // against the CA bundle. No network traffic. The error names the file at
  // fault and states whether it is missing, unreadable or malformed.
  // NOTE: the server certificate is not checked against a CRL or OCSP.
  static Result<MtlsClient> create(const ClientFiles& files);

  const ClientCertificate& certificate() const { return certificate_; }

  // Sends one request to `url` on a new connection and reads the whole
  // response. The server certificate must chain to the CA bundle and match
  // the URL's host: a DNS name by subjectAltName DNS entry, an IP literal by
  // subjectAltName IP entry. `on_body` receives each body piece as it is
  // read. Blocks the calling thread. Network and protocol failures are
  // returned in Response::failure and Response::error, not thrown.
  Response send(const HttpsUrl& url, const Request& request, const Timeouts& timeouts = {},
                const BodyCallback& on_body = {}) const;

 private:
  MtlsClient(std::shared_ptr<boost::asio::ssl::context> context, ClientCertificate certificate)
      : context_(std::move(context)), certificate_(std::move(certificate)) {}

  std::shared_ptr<boost::asio::ssl::context> context_;
  ClientCertificate certificate_;
};

}  // namespace sanctum::client
