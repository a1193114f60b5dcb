#pragma once

// Key generation, PEM encoding and X.509 certificate construction for the
// CA module. Internal to src/ca; callers outside it use ca.hpp.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ca/ca.hpp"
#include "ca/openssl_handles.hpp"

namespace sanctum::ca {

Result<PkeyPtr> generate_key(KeyType type);

// PKCS#8 PEM of the private key, unencrypted. Callers wipe the string with
// wipe_secret() once it is written.
Result<std::string> private_key_pem(EVP_PKEY* key);
Result<std::string> certificate_pem(X509* cert);
void wipe_secret(std::string& secret);

// Load PEM files. Errors name the file and the content it lacks.
Result<PkeyPtr> load_private_key(const std::filesystem::path& file);
Result<X509Ptr> load_certificate(const std::filesystem::path& file);

// Facts about a certificate in the forms the index uses.
std::string serial_hex(const X509* cert);
std::string sha256_fingerprint(X509* cert);
std::string common_name(const X509* cert);
TimePoint not_before_of(const X509* cert);
TimePoint not_after_of(const X509* cert);
CertificateInfo describe(X509* cert, const std::filesystem::path& file);

// Whether the key is RSA, which also gets keyEncipherment in leaf key usage.
bool is_rsa(const EVP_PKEY* key);

// The digest for signing with `key`: SHA-256 for RSA and ECDSA, and null for
// Ed25519, which hashes internally.
const EVP_MD* signature_digest(const EVP_PKEY* key);

// The content of a certificate apart from its key and issuer.
struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> sans;  // normalised "DNS:", "IP:" or "URI:" values
  TimePoint not_before;
  TimePoint not_after;
  bool is_ca = false;
  std::optional<int> path_length;  // CA only; unset means no pathlen limit
  ExtendedKeyUsage extended_key_usage = ExtendedKeyUsage::none;  // leaf only
};

// Builds and signs a certificate for `subject_key`. A null `issuer` makes it
// self-signed with `issuer_key`, which must then be the subject key. The
// serial is 128 random bits.
Result<X509Ptr> build_certificate(const CertificateSpec& spec, EVP_PKEY* subject_key,
                                  X509* issuer, EVP_PKEY* issuer_key);

// Converts between TimePoint and ASN1_TIME, in whole seconds.
TimePoint to_time_point(const ASN1_TIME* time);
Asn1TimePtr to_asn1_time(TimePoint time);

}  // namespace sanctum::ca
