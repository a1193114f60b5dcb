#include "ca/certificate.hpp"

#include <ctime>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "util/fs.hpp"

namespace sanctum::ca {
namespace fs = std::filesystem;

namespace {

std::string to_lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return text;
}

Result<std::string> bio_contents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  if (length < 0 || data == nullptr) {
    return make_error("OpenSSL returned no PEM data: " + drain_openssl_errors());
  }
  return std::string(data, static_cast<size_t>(length));
}

Result<BignumPtr> random_serial() {
  // 128 random bits (RFC 5280 allows up to 20 octets). BN_bin2bn reads the
  // bytes as an unsigned number, so the serial is positive unless all are 0.
  unsigned char bytes[16];
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      return make_error("cannot draw a random serial: " + drain_openssl_errors());
    }
    BignumPtr serial(BN_bin2bn(bytes, sizeof bytes, nullptr));
    if (serial && !BN_is_zero(serial.get())) {
      return serial;
    }
  }
  return make_error("cannot draw a non-zero random serial");
}

Result<void> add_extension(X509* cert, X509V3_CTX* context, int nid, const std::string& value) {
  X509ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, context, nid, value.c_str()));
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) {
    return make_error(fmt::format("cannot add {} extension '{}': {}", OBJ_nid2sn(nid), value,
                                  drain_openssl_errors()));
  }
  return {};
}

Result<void> add_subject_alt_names(X509* cert, const std::vector<std::string>& sans) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  for (const std::string& san : sans) {
    size_t colon = san.find(':');
    std::string kind = san.substr(0, colon);
    std::string value = san.substr(colon + 1);
    int type = GEN_URI;
    if (kind == "DNS") {
      type = GEN_DNS;
    } else if (kind == "IP") {
      type = GEN_IPADD;
    }
    GeneralNamePtr name(a2i_GENERAL_NAME(nullptr, nullptr, nullptr, type, value.c_str(), 0));
    if (!name || sk_GENERAL_NAME_push(names.get(), name.get()) == 0) {
      return make_error(fmt::format("cannot encode subjectAltName {}: {}", san,
                                    drain_openssl_errors()));
    }
    name.release();  // the stack owns it now
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return make_error("cannot add subjectAltName extension: " + drain_openssl_errors());
  }
  return {};
}

std::string extended_key_usage_value(ExtendedKeyUsage usage) {
  switch (usage) {
    case ExtendedKeyUsage::client_auth:
      return "clientAuth";
    case ExtendedKeyUsage::server_auth:
      return "serverAuth";
    case ExtendedKeyUsage::both:
      return "serverAuth,clientAuth";
    case ExtendedKeyUsage::by_role:
    case ExtendedKeyUsage::none:
      break;
  }
  return "";
}

Result<void> add_extensions(const CertificateSpec& spec, X509* cert, X509* issuer,
                            EVP_PKEY* subject_key) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);

  std::string basic = "critical,CA:FALSE";
  std::string usage = is_rsa(subject_key) ? "critical,digitalSignature,keyEncipherment"
                                          : "critical,digitalSignature";
  if (spec.is_ca) {
    basic = "critical,CA:TRUE";
    if (spec.path_length) {
      basic += fmt::format(",pathlen:{}", *spec.path_length);
    }
    usage = "critical,keyCertSign,cRLSign";
  }
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, basic},
      {NID_key_usage, usage},
      {NID_subject_key_identifier, "hash"},
      // A self-signed certificate may leave the key id out; an issued one
      // must carry it (RFC 5280 section 4.2.1.1).
      {NID_authority_key_identifier, issuer != nullptr ? "keyid:always" : "keyid"},
  };
  std::string extended_usage = extended_key_usage_value(spec.extended_key_usage);
  if (!spec.is_ca && !extended_usage.empty()) {
    extensions.emplace_back(NID_ext_key_usage, extended_usage);
  }
  for (const auto& [nid, value] : extensions) {
    if (auto added = add_extension(cert, &context, nid, value); !added) {
      return added;
    }
  }
  if (!spec.sans.empty()) {
    return add_subject_alt_names(cert, spec.sans);
  }
  return {};
}

}  // namespace

Result<PkeyPtr> generate_key(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::ecdsa_p256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyType::ed25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case KeyType::rsa_3072:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(3072));
      break;
  }
  if (key == nullptr) {
    return make_error(fmt::format("cannot generate a {} key: {}", to_string(type),
                                  drain_openssl_errors()));
  }
  return PkeyPtr(key);
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return make_error("cannot encode the private key as PEM: " + drain_openssl_errors());
  }
  return bio_contents(bio.get());
}

Result<std::string> certificate_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return make_error("cannot encode the certificate as PEM: " + drain_openssl_errors());
  }
  return bio_contents(bio.get());
}

void wipe_secret(std::string& secret) {
  OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

Result<PkeyPtr> load_private_key(const fs::path& file) {
  auto text = util::read_file(file);
  if (!text) {
    return text.error();
  }
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  wipe_secret(*text);
  if (!key) {
    return make_error(fmt::format("{} does not contain an unencrypted PEM private key: {}",
                                  file.string(), drain_openssl_errors()));
  }
  return key;
}

Result<X509Ptr> load_certificate(const fs::path& file) {
  auto text = util::read_file(file);
  if (!text) {
    return text.error();
  }
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return make_error(fmt::format("{} does not contain a PEM certificate: {}", file.string(),
                                  drain_openssl_errors()));
  }
  return cert;
}

std::string serial_hex(const X509* cert) {
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  OpensslStringPtr hex(serial ? BN_bn2hex(serial.get()) : nullptr);
  return hex ? to_lower(hex.get()) : std::string();
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1) {
    return "";
  }
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += fmt::format("{:02x}", digest[i]);
  }
  return hex;
}

std::string common_name(const X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) {
    return "";
  }
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) {
    return "";
  }
  std::string name(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return name;
}

TimePoint to_time_point(const ASN1_TIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
    return TimePoint{};
  }
  return Clock::from_time_t(timegm(&parts));
}

Asn1TimePtr to_asn1_time(TimePoint time) {
  // ASN1_TIME_set picks UTCTime through 2049 and GeneralizedTime after, as
  // RFC 5280 section 4.1.2.5 requires.
  return Asn1TimePtr(ASN1_TIME_set(nullptr, Clock::to_time_t(time)));
}

TimePoint not_before_of(const X509* cert) { return to_time_point(X509_get0_notBefore(cert)); }

TimePoint not_after_of(const X509* cert) { return to_time_point(X509_get0_notAfter(cert)); }

CertificateInfo describe(X509* cert, const fs::path& file) {
  return CertificateInfo{file, common_name(cert), serial_hex(cert), sha256_fingerprint(cert),
                         not_before_of(cert), not_after_of(cert)};
}

bool is_rsa(const EVP_PKEY* key) { return EVP_PKEY_is_a(key, "RSA") == 1; }

const EVP_MD* signature_digest(const EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519") == 1) {
    return nullptr;
  }
  return EVP_sha256();
}

Result<X509Ptr> build_certificate(const CertificateSpec& spec, EVP_PKEY* subject_key,
                                  X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  auto serial = random_serial();
  if (!cert || !serial) {
    return serial ? make_error("cannot allocate a certificate: " + drain_openssl_errors())
                  : serial.error();
  }
  Asn1IntegerPtr serial_number(BN_to_ASN1_INTEGER(serial->get(), nullptr));
  Asn1TimePtr not_before = to_asn1_time(spec.not_before);
  Asn1TimePtr not_after = to_asn1_time(spec.not_after);

  X509_NAME* subject = X509_get_subject_name(cert.get());
  bool ok = X509_set_version(cert.get(), X509_VERSION_3) == 1 && serial_number &&
            X509_set_serialNumber(cert.get(), serial_number.get()) == 1 &&
            X509_NAME_add_entry_by_txt(
                subject, "CN", MBSTRING_UTF8,
                reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0) == 1 &&
            X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer)
                                                               : subject) == 1 &&
            not_before && not_after && X509_set1_notBefore(cert.get(), not_before.get()) == 1 &&
            X509_set1_notAfter(cert.get(), not_after.get()) == 1 &&
            X509_set_pubkey(cert.get(), subject_key) == 1;
  if (!ok) {
    return make_error(fmt::format("cannot fill in the certificate for '{}': {}", spec.common_name,
                                  drain_openssl_errors()));
  }
  if (auto added = add_extensions(spec, cert.get(), issuer, subject_key); !added) {
    return added.error();
  }
  if (X509_sign(cert.get(), issuer_key, signature_digest(issuer_key)) <= 0) {
    return make_error(fmt::format("cannot sign the certificate for '{}': {}", spec.common_name,
                                  drain_openssl_errors()));
  }
  return cert;
}

}  // namespace sanctum::ca
