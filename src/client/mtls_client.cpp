#include "client/mtls_client.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <fmt/format.h>

#include "tls/handles.hpp"
#include "tls/identity.hpp"
#include "tls/server_tls.hpp"

namespace sanctum::client {

namespace fs = std::filesystem;

namespace {

// ECDHE with AES-GCM or ChaCha20-Poly1305 for TLS 1.2, the same set the
// gateway accepts. TLS 1.3 suites are all AEAD, so OpenSSL's default list for
// 1.3 stays.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Reads a whole file. The error distinguishes a missing file (ENOENT) from
// one that exists but cannot be read (EACCES and others), because the fixes
// differ.
Result<std::string> read_material(const fs::path& path, const char* what) {
  if (path.empty()) {
    return make_error(fmt::format("no {} file given", what));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    if (error == ENOENT || error == ENOTDIR) {
      return make_error(fmt::format("{} {} not found", what, path.string()));
    }
    return make_error(
        fmt::format("{} {} is not readable: {}", what, path.string(), std::strerror(error)));
  }
  std::string text;
  char buffer[8192];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return make_error(
          fmt::format("{} {} is not readable: {}", what, path.string(), std::strerror(error)));
    }
    if (n == 0) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

Result<std::vector<tls::X509Ptr>> parse_certificates(const std::string& text, const fs::path& path,
                                                     const char* what) {
  tls::BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  std::vector<tls::X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (certs.empty()) {
    return make_error(fmt::format(
        "{} {} contains no PEM certificate (expected \"-----BEGIN CERTIFICATE-----\")", what,
        path.string()));
  }
  return certs;
}

Result<tls::EvpPkeyPtr> parse_key(const std::string& text, const fs::path& path) {
  tls::BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  // A passphrase callback that returns 0 makes an encrypted key fail instead
  // of prompting on the terminal.
  tls::EvpPkeyPtr key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!key) {
    return make_error(fmt::format(
        "client key {} cannot be loaded ({}); expected an unencrypted PEM private key",
        path.string(), tls::drain_openssl_errors()));
  }
  return key;
}

Result<void> set_protocols(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return make_error("cannot configure TLS versions and ciphers: " + tls::drain_openssl_errors());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  // SSL_CTX_set_alpn_protos returns 0 on success, unlike most of OpenSSL.
  if (SSL_CTX_set_alpn_protos(ctx, kHttp11, sizeof kHttp11) != 0) {
    return make_error("cannot set ALPN: " + tls::drain_openssl_errors());
  }
  return {};
}

Result<void> set_trust(SSL_CTX* ctx, const fs::path& ca_file) {
  auto text = read_material(ca_file, "CA certificate");
  if (!text) {
    return text.error();
  }
  auto cas = parse_certificates(*text, ca_file, "CA certificate");
  if (!cas) {
    return cas.error();
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& ca : *cas) {
    // The store takes its own reference to each certificate.
    if (X509_STORE_add_cert(store, ca.get()) != 1) {
      return make_error(fmt::format("CA certificate {} cannot be used: {}", ca_file.string(),
                                    tls::drain_openssl_errors()));
    }
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return {};
}

Result<ClientCertificate> set_identity(SSL_CTX* ctx, const ClientFiles& files) {
  auto cert_text = read_material(files.cert_file, "client certificate");
  if (!cert_text) {
    return cert_text.error();
  }
  auto key_text = read_material(files.key_file, "client key");
  if (!key_text) {
    return key_text.error();
  }

  auto chain = parse_certificates(*cert_text, files.cert_file, "client certificate");
  if (!chain) {
    return chain.error();
  }
  auto key = parse_key(*key_text, files.key_file);
  if (!key) {
    return key.error();
  }

  X509* leaf = chain->front().get();
  if (X509_check_private_key(leaf, key->get()) != 1) {
    ERR_clear_error();
    return make_error(fmt::format("client key {} does not match client certificate {}",
                                  files.key_file.string(), files.cert_file.string()));
  }
  bool used = SSL_CTX_use_certificate(ctx, leaf) == 1 && SSL_CTX_use_PrivateKey(ctx, key->get()) == 1;
  for (std::size_t i = 1; used && i < chain->size(); ++i) {
    used = SSL_CTX_add1_chain_cert(ctx, (*chain)[i].get()) == 1;
  }
  if (!used) {
    return make_error(fmt::format("client certificate {} cannot be used: {}",
                                  files.cert_file.string(), tls::drain_openssl_errors()));
  }

  tls::PeerIdentity identity = tls::identity_of(leaf);
  return ClientCertificate{identity.common_name, identity.serial_hex,
                           identity.sha256_fingerprint, identity.not_after};
}

}  // namespace

const char* to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::none:
      return "none";
    case FailureKind::resolve:
      return "resolve-failed";
    case FailureKind::connect_refused:
      return "connect-refused";
    case FailureKind::connect:
      return "connect-failed";
    case FailureKind::timeout:
      return "timeout";
    case FailureKind::tls_handshake:
      return "tls-handshake";
    case FailureKind::server_name_mismatch:
      return "server-name-mismatch";
    case FailureKind::connection_closed:
      return "connection-closed";
    case FailureKind::http_protocol:
      return "http-protocol";
    case FailureKind::body_too_large:
      return "body-too-large";
    case FailureKind::http_status:
      return "http-status";
  }
  return "unknown";
}

std::string Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return value;
    }
  }
  return {};
}

Result<MtlsClient> MtlsClient::create(const ClientFiles& files) {
  SSL_CTX* native = SSL_CTX_new(TLS_client_method());
  if (native == nullptr) {
    return make_error("cannot create a TLS client context: " + tls::drain_openssl_errors());
  }
  // The asio context owns `native` from here on and frees it.
  auto context = std::make_shared<boost::asio::ssl::context>(native);
  if (auto done = set_protocols(native); !done) {
    return done.error();
  }
  if (auto done = set_trust(native, files.ca_file); !done) {
    return done.error();
  }
  auto certificate = set_identity(native, files);
  if (!certificate) {
    return certificate.error();
  }
  return MtlsClient(std::move(context), std::move(*certificate));
}

}  // namespace sanctum::client
