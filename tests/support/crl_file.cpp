#include "support/crl_file.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "tls/handles.hpp"

namespace sanctum::test {
namespace fs = std::filesystem;

namespace {

struct FileClose {
  void operator()(FILE* file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<FILE, FileClose>;

FilePtr open_file(const fs::path& path, const char* mode) {
  FilePtr file(std::fopen(path.c_str(), mode));
  if (!file) {
    throw std::runtime_error("write_crl: cannot open " + path.string());
  }
  return file;
}

tls::X509Ptr read_cert(const fs::path& path) {
  tls::X509Ptr cert(PEM_read_X509(open_file(path, "r").get(), nullptr, nullptr, nullptr));
  if (!cert) {
    throw std::runtime_error("write_crl: no PEM certificate in " + path.string());
  }
  return cert;
}

}  // namespace

void write_crl(const fs::path& ca_cert, const fs::path& ca_key,
               const std::vector<fs::path>& revoked_certs, std::chrono::seconds next_update,
               const fs::path& out) {
  tls::X509Ptr ca = read_cert(ca_cert);
  tls::EvpPkeyPtr key(PEM_read_PrivateKey(open_file(ca_key, "r").get(), nullptr, nullptr, nullptr));
  if (!key) {
    throw std::runtime_error("write_crl: no PEM private key in " + ca_key.string());
  }

  std::time_t now = std::time(nullptr);
  tls::X509CrlPtr crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get()));
  std::time_t next_time = now + next_update.count();
  ASN1_TIME* last = ASN1_TIME_set(nullptr, std::min(now, next_time) - 86400);
  ASN1_TIME* next = ASN1_TIME_set(nullptr, next_time);
  X509_CRL_set1_lastUpdate(crl.get(), last);
  X509_CRL_set1_nextUpdate(crl.get(), next);
  for (const fs::path& path : revoked_certs) {
    tls::X509Ptr revoked = read_cert(path);
    X509_REVOKED* entry = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(entry, X509_get_serialNumber(revoked.get()));
    X509_REVOKED_set_revocationDate(entry, last);
    X509_CRL_add0_revoked(crl.get(), entry);
  }
  X509_CRL_sort(crl.get());
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  if (X509_CRL_sign(crl.get(), key.get(), EVP_sha256()) <= 0) {
    throw std::runtime_error("write_crl: signing with " + ca_key.string() + " failed");
  }
  if (PEM_write_X509_CRL(open_file(out, "w").get(), crl.get()) != 1) {
    throw std::runtime_error("write_crl: cannot write " + out.string());
  }
}

}  // namespace sanctum::test
