#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace sanctum::config {

using Duration = std::chrono::milliseconds;

// One address a listener binds. `host` is an IP literal without brackets
// ("127.0.0.1", "::1", "0.0.0.0", "::"); port 0 lets the OS pick a free port.
struct BindAddress {
  std::string host;
  uint16_t port = 0;
};

// Parses "IPv4:PORT", "[IPv6]:PORT" or "localhost:PORT" (taken as 127.0.0.1).
// The error names the forms that are accepted.
Result<BindAddress> parse_bind_address(const std::string& text);

// Formats a bind address back to "host:port" or "[host]:port".
std::string to_string(const BindAddress& address);

// Destination of a listener's requests. `echo` is the built-in diagnostic
// model.
struct UpstreamTarget {
  bool echo = false;
  std::string host;       // IP literal or DNS name, without brackets
  uint16_t port = 0;
  std::string base_path;  // prefix prepended to every request path, "" for none
  std::string text;       // the URL as written, for messages and logs
};

// Parses "echo" or "http://HOST[:PORT][/PREFIX]". Only http is accepted, because
// the model servers listen in plain HTTP on their own host.
Result<UpstreamTarget> parse_upstream(const std::string& text);

// Authentication method of a listener.
enum class AuthMode {
  mtls,    // client certificate required (TLS listeners only)
  bearer,  // Authorization: Bearer TOKEN compared against auth_token_file
  none,    // plain listener without authentication
};

// Server certificate and the trust used to verify clients, shared by every
// TLS listener.
struct TlsConfig {
  std::filesystem::path cert_file;       // server certificate chain, PEM
  std::filesystem::path key_file;        // server private key, PEM
  std::filesystem::path client_ca_file;  // CA bundle client certificates must chain to
  std::filesystem::path crl_file;        // optional CRL, PEM; empty = no revocation check
  // Issue TLS 1.3 session tickets and keep TLS 1.2 session IDs, so clients
  // can resume a session without a full handshake. Off by default: every
  // connection then verifies the client certificate against the current CA
  // and CRL, and a full handshake issues no ticket.
  bool session_tickets = false;
};

struct ListenerConfig {
  std::string name;
  std::vector<BindAddress> bind;
  bool tls = true;
  UpstreamTarget upstream;
  AuthMode auth = AuthMode::mtls;
  // Client identities let through (certificate CN, DNS SAN or URI SAN).
  // Empty means every certificate that verifies against the client CA.
  std::vector<std::string> allow;
  std::filesystem::path auth_token_file;  // bearer listeners only
  bool loopback_bypass = false;           // bearer listeners only
  // Lets a plain listener with auth = none bind a non-loopback address.
  // Without it validate() rejects that listener, because anyone who can reach
  // the address could then use the model server with no credentials.
  bool unsafe_open = false;
  int source_line = 0;  // line of the [[listener]] table, 0 for flags
};

// Per-phase timeouts. Streamed responses have no total deadline.
struct Timeouts {
  Duration handshake{10'000};             // TCP accept to finished TLS handshake
  Duration request_head{30'000};          // first byte to end of request headers
  Duration request_body{60'000};          // reading the request body
  Duration keepalive_idle{75'000};        // idle keep-alive connection between requests
  Duration upstream_connect{5'000};       // TCP connect to the upstream
  Duration upstream_first_byte{600'000};  // request sent to response headers received
  Duration stream_idle{300'000};          // silence between two upstream body reads
  Duration drain{30'000};                 // SIGTERM: wait for in-flight exchanges
};

struct Limits {
  std::size_t max_body_bytes = 32 * 1024 * 1024;  // request body, larger gets 413
  std::size_t max_header_bytes = 64 * 1024;       // request head, larger gets 431
  std::size_t max_connections = 4096;             // open client connections per process
  std::size_t upstream_pool_size = 32;            // idle keep-alive connections per upstream
};

struct EchoConfig {
  Duration chunk_delay{0};  // pause between streamed chunks of the echo model
};

struct LogConfig {
  std::string level = "info";     // trace, debug, info, warn, error, off
  std::string access_log = "-";   // file path, "-" for stdout, "" for none
};

struct Config {
  std::filesystem::path source_file;  // empty when built from flags
  TlsConfig tls;
  std::vector<ListenerConfig> listeners;
  Timeouts timeouts;
  Limits limits;
  EchoConfig echo;
  LogConfig log;
  // Header that carries the verified client name to the upstream; the
  // gateway removes it from every client request. Empty disables it.
  std::string identity_header = "X-Sanctum-Client";
  bool plain = true;  // false drops every non-TLS listener (--no-plain)
  int threads = 0;    // worker threads, 0 = number of cores
};

// One problem found by load() or validate(): where it is and what is wrong.
struct Problem {
  std::string file;  // config file, empty for flags
  int line = 0;      // 1-based, 0 when unknown
  std::string key;   // TOML key path such as "listener[1].bind" or "tls.cert"
  std::string message;
};

// Formats "FILE:LINE: KEY: MESSAGE", leaving out the parts that are empty.
std::string to_string(const Problem& problem);

// Reads and parses a TOML config file into a Config. Relative paths in it are
// resolved against the file's folder. Unknown keys, wrong types and syntax
// errors are appended to `problems` with their line and key path. Returns the
// Config only when this call appended no problem, otherwise an Error such as
// "3 problems in sanctum.toml". Does not check that referenced files exist;
// validate() does.
Result<Config> load(const std::filesystem::path& path, std::vector<Problem>& problems);

// Checks cross-field rules and the files the config names. Among them: at
// least one listener, unique names, readable TLS files when a TLS listener
// exists, and a non-empty bearer token file with no permission bits for group
// or others. `plain = false` must leave a TLS listener, and a plain listener
// without authentication may bind only loopback addresses unless it sets
// `unsafe_open`. With `plain = false`, plain listeners skip the token file
// and loopback checks because they will not run. Returns every problem found,
// empty when the config is usable.
std::vector<Problem> validate(const Config& config);

// Parses a duration such as "250ms", "10s", "5m" or "1h".
Result<Duration> parse_duration(const std::string& text);

// Parses a byte count such as "512B", "64KiB", "32MiB" or "1GiB". The units
// are powers of 1024. The error names the text and the accepted units.
Result<std::size_t> parse_size(const std::string& text);

}  // namespace sanctum::config
