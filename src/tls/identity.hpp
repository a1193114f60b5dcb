#pragma once

#include <array>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include <openssl/x509.h>

namespace sanctum::tls {

// The facts of a verified client certificate, as plain values so that
// authorisation and logging need no OpenSSL types.
struct PeerIdentity {
  std::string common_name;
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  std::vector<std::string> uris;       // subjectAltName URI entries (spiffe://…)
  std::string serial_hex;              // uppercase hex, no separators
  std::string sha256_fingerprint;      // lowercase hex of the DER encoding
  std::time_t not_after = 0;

  // The name used in logs and the identity header: the CN, else the first
  // URI SAN, else the first DNS SAN, else the fingerprint.
  const std::string& display_name() const;
};

// Extracts the identity of `cert`. `cert` may be null, which gives an empty
// identity.
PeerIdentity identity_of(X509* cert);

// Returns an ASN.1 time as a time_t, or 0 when `t` is null or cannot be read.
std::time_t time_of(const ASN1_TIME* t);

// Returns the certificate's notAfter as a time_t, or 0 when it cannot be read.
std::time_t not_after_of(const X509* cert);

// SHA-256 of a certificate's DER encoding.
using CertDigest = std::array<unsigned char, 32>;

// Returns the SHA-256 of `cert`'s DER encoding, or nothing when `cert` is
// null or OpenSSL cannot encode it.
std::optional<CertDigest> digest_of(X509* cert);

// Returns the lowercase hex SHA-256 fingerprint of the certificate's DER form.
std::string sha256_fingerprint(X509* cert);

// Returns the serial number as uppercase hex.
std::string serial_hex(const X509* cert);

}  // namespace sanctum::tls
