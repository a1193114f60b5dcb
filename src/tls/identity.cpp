#include "tls/identity.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include "tls/handles.hpp"

namespace sanctum::tls {

namespace {

std::string asn1_string_to_std(const ASN1_STRING* s) {
  if (s == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string common_name_of(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) {
    return {};
  }
  X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, index);
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
  if (length < 0) {
    return {};
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

const std::string& PeerIdentity::display_name() const {
  if (!common_name.empty()) {
    return common_name;
  }
  if (!uris.empty()) {
    return uris.front();
  }
  if (!dns_names.empty()) {
    return dns_names.front();
  }
  return sha256_fingerprint;
}

std::time_t time_of(const ASN1_TIME* t) {
  struct tm parsed {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &parsed) != 1) {
    return 0;
  }
  return timegm(&parsed);
}

std::time_t not_after_of(const X509* cert) { return time_of(X509_get0_notAfter(cert)); }

std::optional<CertDigest> digest_of(X509* cert) {
  CertDigest digest{};
  unsigned int length = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), digest.data(), &length) != 1 ||
      length != digest.size()) {
    return std::nullopt;
  }
  return digest;
}

std::string sha256_fingerprint(X509* cert) {
  auto digest = digest_of(cert);
  if (!digest) {
    return {};
  }
  std::string out;
  out.reserve(digest->size() * 2);
  for (unsigned char byte : *digest) {
    out += fmt::format("{:02x}", byte);
  }
  return out;
}

std::string serial_hex(const X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (bn == nullptr) {
    return {};
  }
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

PeerIdentity identity_of(X509* cert) {
  PeerIdentity id;
  if (cert == nullptr) {
    return id;
  }
  id.common_name = common_name_of(cert);
  id.serial_hex = serial_hex(cert);
  id.sha256_fingerprint = sha256_fingerprint(cert);
  id.not_after = not_after_of(cert);

  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type == GEN_DNS) {
        id.dns_names.push_back(asn1_string_to_std(name->d.dNSName));
      } else if (name->type == GEN_URI) {
        id.uris.push_back(asn1_string_to_std(name->d.uniformResourceIdentifier));
      }
    }
  }
  return id;
}

}  // namespace sanctum::tls
