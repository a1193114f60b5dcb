#include "tls/server_tls.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/error.hpp>
#include <fmt/format.h>

#include "tls/handles.hpp"
#include "tls/identity.hpp"
#include "tls/library_context.hpp"
#include "tls/revocation.hpp"
#include "tls/verified_cache.hpp"
#include "util/fs.hpp"

namespace sanctum::tls {

namespace {

// ECDHE with AES-GCM or ChaCha20-Poly1305 for TLS 1.2. TLS 1.3 suites are all
// AEAD, so OpenSSL's default list for 1.3 stays.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr unsigned char kSessionIdContext[] = "sanctum";

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string subject_of(X509* cert) { return name_text(X509_get_subject_name(cert)); }

LoadedCert describe(X509* cert) {
  return LoadedCert{subject_of(cert), serial_hex(cert), not_after_of(cert)};
}

// Reads every PEM certificate in `path`. Fails when there is none.
Result<std::vector<X509Ptr>> read_certificates(const std::filesystem::path& path,
                                               const char* what) {
  auto text = util::read_file(path);
  if (!text) {
    return make_error(fmt::format("{}: {}", what, text.error().message));
  }
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (certs.empty()) {
    return make_error(fmt::format("{} {} holds no PEM certificate (expected "
                                  "\"-----BEGIN CERTIFICATE-----\")",
                                  what, path.string()));
  }
  return certs;
}

using RevocationSlot = std::shared_ptr<const RevocationSet>;

// Deletes the `T` that an SSL_CTX ex_data slot owns, when OpenSSL frees the
// context.
template <class T>
void free_context_slot(void*, void* data, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<T*>(data);
}

// Returns the index of the SSL_CTX ex_data slot that owns a heap-allocated
// `T`, which OpenSSL deletes with the context.
template <class T>
int context_slot_index() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_context_slot<T>);
  return index;
}

// Index of the slot that points to the context's revocation set. The set
// lives as long as any SSL object that uses the context.
int revocation_slot_index() { return context_slot_index<RevocationSlot>(); }

const RevocationSet* revocation_set_of(X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) {
    return nullptr;
  }
  auto* slot =
      static_cast<RevocationSlot*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), revocation_slot_index()));
  return slot != nullptr ? slot->get() : nullptr;
}

// Returns X509_V_ERR_CERT_REVOKED when a loaded CRL lists `cert`, and
// X509_V_ERR_UNABLE_TO_GET_CRL when `cert` is the client's own certificate
// (depth 0) and no CRL from its issuer was loaded. A self-signed certificate
// is the trust anchor from tls.client_ca, which no CRL covers.
int revocation_error(X509_STORE_CTX* store, X509* cert, int depth) {
  const RevocationSet* revocations = revocation_set_of(store);
  if (revocations == nullptr || (X509_get_extension_flags(cert) & EXFLAG_SS) != 0) {
    return X509_V_OK;
  }
  if (revocations->is_revoked(cert)) {
    return X509_V_ERR_CERT_REVOKED;
  }
  if (depth == 0 && !revocations->has_crl_for(cert)) {
    return X509_V_ERR_UNABLE_TO_GET_CRL;
  }
  return X509_V_OK;
}

// Checks revocation at every depth of the client's chain and requires the
// clientAuth extended key usage on the client's own certificate. OpenSSL
// calls it once per depth, from the trust anchor down to the client's
// certificate. OpenSSL's purpose check accepts a certificate without any
// extended key usage. The gateway rejects it, so a server or CA certificate
// cannot pass as a client.
int verify_client_callback(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok == 0) {
    return 0;
  }
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  int depth = X509_STORE_CTX_get_error_depth(store);
  if (int error = revocation_error(store, cert, depth); error != X509_V_OK) {
    X509_STORE_CTX_set_error(store, error);
    return 0;
  }
  if (depth != 0) {
    return 1;
  }
  uint32_t usage = X509_get_extended_key_usage(cert);
  if (usage == UINT32_MAX || (usage & XKU_SSL_CLIENT) == 0) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
    return 0;
  }
  return 1;
}

// Index of the slot that owns the context's VerifiedCache.
int verified_cache_index() { return context_slot_index<VerifiedCache>(); }

// Verifies the client's chain with X509_verify_cert(), which calls
// verify_client_callback() at each depth, unless the same certificate
// passed under this context before and its chain is still within its
// validity dates. A hit saves the CA signature check and the chain
// building; the client's CertificateVerify is checked either way.
int verify_chain(X509_STORE_CTX* store, void* arg) {
  auto* cache = static_cast<VerifiedCache*>(arg);
  auto digest = digest_of(X509_STORE_CTX_get0_cert(store));
  if (digest && cache->contains(*digest, std::time(nullptr))) {
    return 1;
  }
  int verified = X509_verify_cert(store);
  if (verified == 1 && digest) {
    if (auto span = validity_span(X509_STORE_CTX_get0_chain(store))) {
      cache->insert(*digest, span->first, span->second);
    }
  }
  return verified;
}

// Gives the context a VerifiedCache and routes chain verification through
// it. Called after the trust store and the revocation set are complete:
// the cached results are valid under exactly those.
Result<void> set_verified_cache(SSL_CTX* ctx) {
  auto cache = std::make_unique<VerifiedCache>();
  if (SSL_CTX_set_ex_data(ctx, verified_cache_index(), cache.get()) != 1) {
    return make_error("cannot attach the verification cache to the TLS context: " +
                      drain_openssl_errors());
  }
  SSL_CTX_set_cert_verify_callback(ctx, verify_chain, cache.release());
  return {};
}

int select_http11(SSL*, const unsigned char** out, unsigned char* out_length,
                  const unsigned char* in, unsigned int in_length, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kHttp11, sizeof kHttp11, in, in_length) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

Result<void> set_protocols(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return make_error("cannot configure TLS versions and ciphers: " + drain_openssl_errors());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_alpn_select_cb(ctx, select_http11, nullptr);
  // Record buffers are freed by tls::ServerStream when a connection goes
  // idle, not after every record, so SSL_MODE_RELEASE_BUFFERS stays off.
  return {};
}

Result<LoadedCert> set_server_identity(SSL_CTX* ctx, const config::TlsConfig& config) {
  auto chain = read_certificates(config.cert_file, "server certificate");
  if (!chain) {
    return chain.error();
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1) {
    return make_error(fmt::format("server certificate {} cannot be used: {}",
                                  config.cert_file.string(), drain_openssl_errors()));
  }
  auto key_text = util::read_file(config.key_file);
  if (!key_text) {
    return make_error("server key: " + key_text.error().message);
  }
  BioPtr key_bio(BIO_new_mem_buf(key_text->data(), static_cast<int>(key_text->size())));
  // An empty passphrase callback makes an encrypted key fail instead of
  // prompting on the terminal.
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(
      key_bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!key) {
    return make_error(fmt::format("server key {} cannot be loaded ({}); expected an "
                                  "unencrypted PEM private key",
                                  config.key_file.string(), drain_openssl_errors()));
  }
  if (X509_check_private_key(chain->front().get(), key.get()) != 1) {
    ERR_clear_error();
    return make_error(fmt::format(
        "server key {} does not match server certificate {}; reissue the pair with "
        "`sanctum ca issue server --server --force` or point tls.key at the right file",
        config.key_file.string(), config.cert_file.string()));
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    return make_error(fmt::format("server key {} cannot be used: {}", config.key_file.string(),
                                  drain_openssl_errors()));
  }
  return describe(chain->front().get());
}

Result<std::vector<LoadedCert>> set_client_trust(SSL_CTX* ctx, const config::TlsConfig& config) {
  auto cas = read_certificates(config.client_ca_file, "client CA bundle");
  if (!cas) {
    return cas.error();
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  std::vector<LoadedCert> loaded;
  for (auto& ca : *cas) {
    if (X509_check_ca(ca.get()) == 0) {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      return make_error(fmt::format(
          "client CA bundle {} holds a certificate that is not a CA ({}); list only CA "
          "certificates in tls.client_ca",
          config.client_ca_file.string(), subject_of(ca.get())));
    }
    X509_STORE_add_cert(store, ca.get());
    sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca.get())));
    loaded.push_back(describe(ca.get()));
  }
  // Tells clients which CAs to pick a certificate for.
  SSL_CTX_set_client_CA_list(ctx, names);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     verify_client_callback);
  SSL_CTX_set_verify_depth(ctx, 5);
  X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(ctx), X509_PURPOSE_SSL_CLIENT);
  return loaded;
}

// Fixes the chain that the server sends after its own certificate. When
// tls.cert contains only that certificate, OpenSSL would otherwise build the
// chain from the client CA store in every handshake, and verify the server
// certificate's signature each time. Here it is built once from the same
// store, without the self-signed root, which every client already has. A
// chain that cannot be completed keeps the certificates found.
void set_server_chain(SSL_CTX* ctx) {
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &chain);
  if (chain == nullptr || sk_X509_num(chain) == 0) {
    SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT | SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
                                      SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR);
    ERR_clear_error();
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
}

// Loads every CRL in the file, checks that each one whose issuer is in the
// client CA bundle is signed by that CA, and stores the revoked serials in a
// RevocationSet that verify_client_callback() reads. The signatures are
// checked here once, so a handshake does no CRL lookup or signature check.
Result<void> set_revocation(SSL_CTX* ctx, const config::TlsConfig& config, TlsMaterial& info) {
  if (config.crl_file.empty()) {
    return {};
  }
  auto text = util::read_file(config.crl_file);
  if (!text) {
    return make_error("CRL: " + text.error().message);
  }
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  std::vector<X509CrlPtr> crls;
  while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
    crls.emplace_back(crl);
  }
  ERR_clear_error();
  if (crls.empty()) {
    return make_error(fmt::format("CRL {} holds no PEM CRL (expected \"-----BEGIN X509 CRL-----\")",
                                  config.crl_file.string()));
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  std::time_t now = std::time(nullptr);
  auto revocations = std::make_shared<RevocationSet>();
  for (auto& crl : crls) {
    bool issuer_in_bundle = false;
    bool signed_by_ca = false;
    STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
    for (int i = 0; i < sk_X509_OBJECT_num(objects) && !signed_by_ca; ++i) {
      X509* ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
      if (ca == nullptr ||
          X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl.get())) != 0) {
        continue;
      }
      issuer_in_bundle = true;
      signed_by_ca = X509_CRL_verify(crl.get(), X509_get0_pubkey(ca)) == 1;
    }
    ERR_clear_error();
    // A CRL from an issuer outside the bundle belongs to an intermediate CA,
    // whose certificate only clients present. Its signature stays unchecked,
    // because the file is local configuration and a CRL can only reject
    // certificates.
    if (issuer_in_bundle && !signed_by_ca) {
      return make_error(fmt::format(
          "CRL {} names a CA in {} as its issuer but that CA's key did not sign it; "
          "regenerate it with `sanctum ca crl`",
          config.crl_file.string(), config.client_ca_file.string()));
    }
    if (auto complete = check_crl_is_complete(crl.get()); !complete) {
      return make_error(fmt::format("CRL {} from {} cannot be used: {}", config.crl_file.string(),
                                    name_text(X509_CRL_get_issuer(crl.get())),
                                    complete.error().message));
    }
    // A CRL past its nextUpdate still lists every revocation made, so the
    // gateway keeps enforcing it instead of rejecting every client. The
    // start-up and reload logs warn about it with the fix.
    std::time_t next_update = time_of(X509_CRL_get0_nextUpdate(crl.get()));
    if (next_update != 0 && next_update < now) {
      info.crl_expired = true;
    }
    if (info.crl_next_update == 0 || (next_update != 0 && next_update < info.crl_next_update)) {
      info.crl_next_update = next_update;
    }
    revocations->add(crl.get());
  }
  info.revoked_count = revocations->size();
  info.revocations = revocations;
  // Without the slot the verify callback would check no revocation at all,
  // so a failure here fails the load.
  auto slot = std::make_unique<RevocationSlot>(std::move(revocations));
  if (SSL_CTX_set_ex_data(ctx, revocation_slot_index(), slot.get()) != 1) {
    return make_error("cannot attach the CRL to the TLS context: " + drain_openssl_errors());
  }
  slot.release();  // deleted with the SSL_CTX by free_context_slot()
  return {};
}

// Turns session resumption on or off. A ticket contains the whole session,
// client certificate included, serialised and encrypted on every full
// handshake, which costs a large share of the handshake's CPU time. Without
// tickets and without the session cache no session can be resumed, so every
// connection verifies the client certificate against the current CA and CRL.
void set_session_resumption(SSL_CTX* ctx, bool tickets) {
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  if (!tickets) {
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return;
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  // One TLS 1.3 ticket per handshake instead of OpenSSL's two: each ticket
  // costs an encryption on the server, and clients of a gateway resume one
  // connection at a time.
  SSL_CTX_set_num_tickets(ctx, 1);
}

}  // namespace

std::string drain_openssl_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!out.empty()) {
      out += "; ";
    }
    out += buffer;
  }
  return out;
}

Result<std::shared_ptr<TlsMaterial>> build_server_tls(const config::TlsConfig& config) {
  ERR_clear_error();
  SSL_CTX* native = SSL_CTX_new_ex(server_library_context(), nullptr, TLS_server_method());
  if (native == nullptr) {
    return make_error("cannot create an OpenSSL context: " + drain_openssl_errors());
  }
  // The asio context owns `native` from here on.
  auto material = std::make_shared<TlsMaterial>(native);
  SSL_CTX* ctx = material->context.native_handle();

  if (auto r = set_protocols(ctx); !r) {
    return r.error();
  }
  auto server = set_server_identity(ctx, config);
  if (!server) {
    return server.error();
  }
  material->server = *server;
  auto cas = set_client_trust(ctx, config);
  if (!cas) {
    return cas.error();
  }
  material->client_cas = std::move(*cas);
  set_server_chain(ctx);
  if (auto r = set_revocation(ctx, config, *material); !r) {
    return r.error();
  }
  if (auto r = set_verified_cache(ctx); !r) {
    return r.error();
  }
  set_session_resumption(ctx, config.session_tickets);
  material->session_tickets = config.session_tickets;
  material->loaded_at = std::chrono::system_clock::now();
  return material;
}

void release_client_chain(SSL* ssl) {
  // On a server, the stack contains every certificate the client sent except
  // its own, which OpenSSL moved to the session's peer certificate.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  while (chain != nullptr && sk_X509_num(chain) > 0) {
    X509_free(sk_X509_pop(chain));
  }
}

const char* to_string(HandshakeFailure failure) {
  switch (failure) {
    case HandshakeFailure::no_client_cert:
      return "no-certificate";
    case HandshakeFailure::unknown_ca:
      return "unknown-ca";
    case HandshakeFailure::expired:
      return "expired";
    case HandshakeFailure::not_yet_valid:
      return "not-yet-valid";
    case HandshakeFailure::wrong_usage:
      return "wrong-usage";
    case HandshakeFailure::revoked:
      return "revoked";
    case HandshakeFailure::client_rejected_server:
      return "client-rejected-server-cert";
    case HandshakeFailure::other:
      break;
  }
  return "tls-error";
}

HandshakeFailureInfo classify_handshake_failure(SSL* ssl, const boost::system::error_code& ec) {
  HandshakeFailureInfo info;
  info.detail = ec.message();
  long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK) {
    info.detail = X509_verify_cert_error_string(verify);
    switch (verify) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        info.reason = HandshakeFailure::expired;
        break;
      case X509_V_ERR_CERT_NOT_YET_VALID:
        info.reason = HandshakeFailure::not_yet_valid;
        break;
      case X509_V_ERR_INVALID_PURPOSE:
        info.reason = HandshakeFailure::wrong_usage;
        break;
      case X509_V_ERR_CERT_REVOKED:
        info.reason = HandshakeFailure::revoked;
        break;
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        info.reason = HandshakeFailure::unknown_ca;
        break;
      default:
        info.reason = HandshakeFailure::other;
        break;
    }
    return info;
  }
  if (ec.category() != boost::asio::error::get_ssl_category()) {
    return info;
  }
  int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    info.reason = HandshakeFailure::no_client_cert;
    info.detail = "the client sent no certificate";
  } else if (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA || reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
             reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED ||
             reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN) {
    // The alert came from the client: it could not verify the gateway's
    // certificate against the CA it trusts.
    info.reason = HandshakeFailure::client_rejected_server;
    info.detail = "the client rejected the gateway's certificate (" + ec.message() +
                  "); give the client the CA bundle that signed the server certificate";
  }
  return info;
}

}  // namespace sanctum::tls
