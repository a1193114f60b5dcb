#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "config/config.hpp"
#include "tls/revocation.hpp"
#include "util/result.hpp"

namespace sanctum::tls {

// Facts about one certificate that was loaded, for the status log line.
struct LoadedCert {
  std::string subject;
  std::string serial_hex;
  std::time_t not_after = 0;
};

// Everything a TLS listener needs to run handshakes: the SSL_CTX with the
// server certificate, the client CA trust store and the CRL, built together
// and never changed afterwards. Sessions keep a shared_ptr to the material
// they started with, so a reload never affects a connection in progress.
struct TlsMaterial {
  explicit TlsMaterial(SSL_CTX* native) : context(native) {}

  boost::asio::ssl::context context;
  LoadedCert server;
  std::vector<LoadedCert> client_cas;
  std::time_t crl_next_update = 0;  // 0 when no CRL is loaded
  bool crl_expired = false;         // a CRL in the file is past its nextUpdate
  std::size_t revoked_count = 0;
  // Revoked serials of tls.crl, null when no CRL is configured. The SSL_CTX
  // keeps its own reference for the verify callback.
  std::shared_ptr<const RevocationSet> revocations;
  bool session_tickets = false;     // tls.session_tickets: resumption offered
  std::chrono::system_clock::time_point loaded_at;
};

// Builds TLS material from files: TLS 1.2 minimum, AEAD cipher suites only, a
// client certificate required and verified against `config.client_ca_file`
// (validity dates, chain, clientAuth extended key usage present, and with a
// CRL configured, no certificate of the chain below the trust anchor
// revoked). The error names the file at fault and what is wrong with it.
// A certificate that passed is remembered with the context (VerifiedCache),
// so its chain is not checked again until it expires.
// Session resumption follows `config.session_tickets`. When it is on, each
// call creates a fresh SSL_CTX, and so fresh session-ticket keys: a session
// from before a reload cannot be resumed after it, and every client is
// verified again against the new CA and CRL.
Result<std::shared_ptr<TlsMaterial>> build_server_tls(const config::TlsConfig& config);

// Holds the current TLS material; reloads swap it. Thread-safe.
class TlsHolder {
 public:
  std::shared_ptr<TlsMaterial> current() const {
    std::lock_guard lock(mutex_);
    return material_;
  }
  void replace(std::shared_ptr<TlsMaterial> material) {
    std::lock_guard lock(mutex_);
    material_ = std::move(material);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<TlsMaterial> material_;
};

// Cause of a failed client handshake, as the counters and logs name it.
enum class HandshakeFailure {
  no_client_cert,
  unknown_ca,
  expired,
  not_yet_valid,
  wrong_usage,
  revoked,
  client_rejected_server,  // the client refused the gateway's own certificate
  other,
};

// Short reason string: "no-certificate", "unknown-ca", "expired",
// "not-yet-valid", "wrong-usage", "revoked", "client-rejected-server-cert",
// "tls-error".
const char* to_string(HandshakeFailure failure);

struct HandshakeFailureInfo {
  HandshakeFailure reason = HandshakeFailure::other;
  std::string detail;  // OpenSSL's wording, for debug logs
};

// Classifies a failed server handshake from the SSL object's verify result
// and the error the handshake returned.
HandshakeFailureInfo classify_handshake_failure(SSL* ssl, const boost::system::error_code& ec);

// Frees the certificates that the client sent after its own, such as its
// CA certificate. OpenSSL keeps them, parsed, in the session for the life of
// the connection, although nothing reads them after the handshake. The
// client's own certificate stays.
void release_client_chain(SSL* ssl);

// Drains OpenSSL's thread-local error queue into one string, "" when empty.
std::string drain_openssl_errors();

}  // namespace sanctum::tls
