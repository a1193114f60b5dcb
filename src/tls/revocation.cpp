#include "tls/revocation.hpp"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <new>

#include <fmt/format.h>

namespace sanctum::tls {

namespace {

std::string extension_name(X509_EXTENSION* extension) {
  char name[128];
  OBJ_obj2txt(name, sizeof name, X509_EXTENSION_get_object(extension), 0);
  return name;
}

// Rejects the issuingDistributionPoint forms whose entries are not plain
// revocations of the issuer's own certificates.
Result<void> check_distribution_point(X509_EXTENSION* extension) {
  auto* point = static_cast<ISSUING_DIST_POINT*>(X509V3_EXT_d2i(extension));
  if (point == nullptr) {
    return make_error("its issuingDistributionPoint extension cannot be decoded");
  }
  bool indirect = point->indirectCRL > 0;
  bool by_reason = point->onlysomereasons != nullptr;
  ISSUING_DIST_POINT_free(point);
  if (indirect) {
    return make_error(
        "it is an indirect CRL, which lists certificates of other issuers; give one CRL per CA");
  }
  if (by_reason) {
    return make_error(
        "it covers only some revocation reasons (onlySomeReasons); give the complete CRL");
  }
  return {};
}

}  // namespace

SerialNumber serial_number_of(const ASN1_INTEGER* serial) {
  const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial));
  std::string_view bytes(data, static_cast<std::size_t>(ASN1_STRING_length(serial)));
  std::size_t first_nonzero = std::min(bytes.find_first_not_of('\0'), bytes.size());
  SerialNumber number;
  number.magnitude = bytes.substr(first_nonzero);
  number.negative = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER && !number.magnitude.empty();
  return number;
}

Result<void> check_crl_is_complete(const X509_CRL* crl) {
  const STACK_OF(X509_EXTENSION)* extensions = X509_CRL_get0_extensions(crl);
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions); ++i) {
    X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions, i);
    int nid = OBJ_obj2nid(X509_EXTENSION_get_object(extension));
    if (nid == NID_delta_crl) {
      return make_error("it is a delta CRL (deltaCRLIndicator); give the complete CRL");
    }
    if (nid == NID_issuing_distribution_point) {
      if (auto checked = check_distribution_point(extension); !checked) {
        return checked;
      }
      continue;
    }
    if (X509_EXTENSION_get_critical(extension) != 0) {
      return make_error(fmt::format("it has the critical extension {}, which sanctum cannot read",
                                    extension_name(extension)));
    }
  }

  // A critical entry extension is certificateIssuer (an indirect CRL) or one
  // that sanctum does not know, so its entry could mean something other than
  // "this serial of this issuer is revoked".
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(const_cast<X509_CRL*>(crl));
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
    const X509_REVOKED* entry = sk_X509_REVOKED_value(entries, i);
    const STACK_OF(X509_EXTENSION)* entry_extensions = X509_REVOKED_get0_extensions(entry);
    for (int j = 0; j < sk_X509_EXTENSION_num(entry_extensions); ++j) {
      X509_EXTENSION* extension = sk_X509_EXTENSION_value(entry_extensions, j);
      if (X509_EXTENSION_get_critical(extension) != 0) {
        return make_error(fmt::format(
            "an entry has the critical extension {}, which sanctum cannot read",
            extension_name(extension)));
      }
    }
  }
  return {};
}

void RevocationSet::add(const X509_CRL* crl) {
  const X509_NAME* issuer_name = X509_CRL_get_issuer(crl);
  auto found = std::find_if(issuers_.begin(), issuers_.end(), [&](const Issuer& issuer) {
    return X509_NAME_cmp(issuer.name.get(), issuer_name) == 0;
  });
  if (found == issuers_.end()) {
    X509NamePtr name(X509_NAME_dup(issuer_name));
    if (!name) {
      throw std::bad_alloc();
    }
    issuers_.push_back(Issuer{std::move(name), {}});
    found = std::prev(issuers_.end());
  }

  std::vector<RevokedSerial>& serials = found->serials;
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(const_cast<X509_CRL*>(crl));
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
    SerialNumber serial =
        serial_number_of(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(entries, i)));
    serials.push_back(RevokedSerial{serial.negative, std::string(serial.magnitude)});
  }
  auto by_value = [](const RevokedSerial& a, const RevokedSerial& b) { return a.view() < b.view(); };
  auto same_value = [](const RevokedSerial& a, const RevokedSerial& b) {
    return a.view() == b.view();
  };
  std::sort(serials.begin(), serials.end(), by_value);
  serials.erase(std::unique(serials.begin(), serials.end(), same_value), serials.end());
}

const RevocationSet::Issuer* RevocationSet::find_issuer(const X509_NAME* name) const {
  for (const Issuer& issuer : issuers_) {
    if (X509_NAME_cmp(issuer.name.get(), name) == 0) {
      return &issuer;
    }
  }
  return nullptr;
}

bool RevocationSet::has_crl_for(const X509* cert) const {
  return find_issuer(X509_get_issuer_name(cert)) != nullptr;
}

bool RevocationSet::is_revoked(const X509* cert) const {
  const Issuer* issuer = find_issuer(X509_get_issuer_name(cert));
  if (issuer == nullptr) {
    return false;
  }
  SerialNumber serial = serial_number_of(X509_get0_serialNumber(cert));
  auto found = std::lower_bound(
      issuer->serials.begin(), issuer->serials.end(), serial,
      [](const RevokedSerial& entry, const SerialNumber& value) { return entry.view() < value; });
  return found != issuer->serials.end() && found->view() == serial;
}

std::size_t RevocationSet::size() const {
  std::size_t count = 0;
  for (const Issuer& issuer : issuers_) {
    count += issuer.serials.size();
  }
  return count;
}

}  // namespace sanctum::tls
