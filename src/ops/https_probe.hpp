#pragma once

// The two network probes `sanctum verify` makes: a GET over mutual TLS
// (through client::MtlsClient), and a plain-HTTP GET sent to the same port
// to see how it is refused. The mTLS client has no plain-HTTP code path by
// design, so the plain probe is written here.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "util/result.hpp"

namespace sanctum::ops {

struct MtlsRequest {
  std::string host;  // IP literal; the server certificate must name it
  std::uint16_t port = 0;
  std::string path = "/v1/models";
  std::filesystem::path ca_file;    // trust anchor for the server certificate
  std::filesystem::path cert_file;  // client certificate (chain), PEM
  std::filesystem::path key_file;   // client private key, PEM
  std::chrono::milliseconds timeout{5000};  // for the whole exchange
};

struct MtlsResponse {
  unsigned status = 0;
  std::string body;
  std::string tls_version;         // as OpenSSL names it, e.g. "TLSv1.3"
  std::string server_fingerprint;  // SHA-256 of the server certificate's DER, lowercase hex
};

// Performs one HTTPS GET with a client certificate. The error names the
// step that failed (loading a file, connect, handshake, read, timeout).
using MtlsGet = std::function<Result<MtlsResponse>(const MtlsRequest&)>;

// The implementation of MtlsGet over client::MtlsClient. It verifies the
// server certificate against `ca_file` and the IP in `host`. A complete
// response with any status is a value; the error covers everything before it.
Result<MtlsResponse> mtls_get(const MtlsRequest& request);

// Outcome of a plain HTTP request to a port.
enum class PlainOutcome {
  connection_refused,  // nothing accepted the connection
  reset,               // TCP reset after connecting
  tls_alert,           // the server sent a TLS alert record
  http_response,       // an HTTP status line came back
  closed,              // the server closed without sending anything
  timeout,             // no response within the timeout
  other_bytes,         // bytes that are neither HTTP nor a TLS alert
  error,               // any other socket error
};

struct PlainResult {
  PlainOutcome outcome = PlainOutcome::error;
  unsigned http_status = 0;  // for http_response
  std::string detail;        // the status line, error text or first bytes
};

// Sends "GET PATH HTTP/1.1" in clear text to host:port and classifies the
// response.
PlainResult plain_http_get(const std::string& host, std::uint16_t port, const std::string& path,
                           std::chrono::milliseconds timeout);

std::string to_string(PlainOutcome outcome);

}  // namespace sanctum::ops
