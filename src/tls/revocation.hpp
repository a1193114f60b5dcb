#pragma once

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "tls/handles.hpp"
#include "util/result.hpp"

namespace sanctum::tls {

// A certificate serial number compared as a number: the sign and the
// big-endian magnitude without leading zero bytes, so 00:8f:01 and 8f:01 are
// the same serial.
struct SerialNumber {
  bool negative = false;
  std::string_view magnitude;  // points into the ASN1_INTEGER it was read from

  auto operator<=>(const SerialNumber&) const = default;
};

// Reads `serial` without copying it. The result is valid while `serial` is.
SerialNumber serial_number_of(const ASN1_INTEGER* serial);

// Checks that every entry of `crl` revokes a certificate of the CRL's own
// issuer and that the CRL is a complete list. A delta CRL, an indirect CRL,
// a CRL limited to some revocation reasons, and a critical extension that
// sanctum does not read all fail. The error names the extension at fault.
Result<void> check_crl_is_complete(const X509_CRL* crl);

// Serial numbers revoked by the CRLs of tls.crl, grouped by CRL issuer name.
// It is filled once while TLS material loads and only read during handshakes,
// so every worker thread can look up in it without a lock.
class RevocationSet {
 public:
  // Adds every entry of `crl` under its issuer name. The entries of two CRLs
  // with the same issuer name are merged, so a serial listed in either one
  // counts as revoked.
  void add(const X509_CRL* crl);

  // True when a CRL whose issuer name equals `cert`'s issuer name was added.
  bool has_crl_for(const X509* cert) const;

  // True when `cert`'s serial is listed in a CRL whose issuer name equals
  // `cert`'s issuer name.
  bool is_revoked(const X509* cert) const;

  // Number of distinct revoked serials over all issuers.
  std::size_t size() const;

 private:
  struct RevokedSerial {
    bool negative = false;
    std::string magnitude;

    SerialNumber view() const { return SerialNumber{negative, magnitude}; }
  };
  struct Issuer {
    X509NamePtr name;
    std::vector<RevokedSerial> serials;  // sorted by view(), no duplicates
  };

  const Issuer* find_issuer(const X509_NAME* name) const;

  std::vector<Issuer> issuers_;
};

}  // namespace sanctum::tls
