// A CRL past its nextUpdate is still enforced: the gateway keeps refusing
// the revoked client, lets the others in, and warns in its log.

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>

#include <gtest/gtest.h>

#include "support/gateway.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

// Writes a CRL signed by the CA in `ca_cert`/`ca_key` that revokes the
// certificate in `revoked_cert` and expired a day ago.
void write_expired_crl(const std::filesystem::path& ca_cert, const std::filesystem::path& ca_key,
                       const std::filesystem::path& revoked_cert,
                       const std::filesystem::path& out) {
  auto read_cert = [](const std::filesystem::path& path) {
    FILE* file = std::fopen(path.c_str(), "r");
    X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    return cert;
  };
  X509* ca = read_cert(ca_cert);
  X509* revoked = read_cert(revoked_cert);
  FILE* key_file = std::fopen(ca_key.c_str(), "r");
  EVP_PKEY* key = PEM_read_PrivateKey(key_file, nullptr, nullptr, nullptr);
  std::fclose(key_file);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(revoked, nullptr);
  ASSERT_NE(key, nullptr);

  std::time_t now = std::time(nullptr);
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, X509_CRL_VERSION_2);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
  ASN1_TIME* last = ASN1_TIME_set(nullptr, now - 2 * 86400);
  ASN1_TIME* next = ASN1_TIME_set(nullptr, now - 86400);
  X509_CRL_set1_lastUpdate(crl, last);
  X509_CRL_set1_nextUpdate(crl, next);
  X509_REVOKED* entry = X509_REVOKED_new();
  X509_REVOKED_set_serialNumber(entry, X509_get_serialNumber(revoked));
  X509_REVOKED_set_revocationDate(entry, last);
  X509_CRL_add0_revoked(crl, entry);
  X509_CRL_sort(crl);
  ASSERT_GT(X509_CRL_sign(crl, key, EVP_sha256()), 0);
  FILE* crl_file = std::fopen(out.c_str(), "w");
  PEM_write_X509_CRL(crl_file, crl);
  std::fclose(crl_file);

  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  X509_CRL_free(crl);
  EVP_PKEY_free(key);
  X509_free(revoked);
  X509_free(ca);
}

TEST(ExpiredCrl, StillEnforcedWithWarning) {
  TempDir dir;
  TestPki pki(dir / "pki");
  auto crl = dir / "expired-crl.pem";
  write_expired_crl(pki.ca_cert(), pki.ca_key(), pki.client_cert(TestPki::kRevokedClient), crl);

  GatewayProcess gateway(dir.path(), {"--listen", "127.0.0.1:0", "--upstream", "echo", "--cert",
                                      pki.server_cert().string(), "--key",
                                      pki.server_key().string(), "--client-ca",
                                      pki.ca_cert().string(), "--crl", crl.string()});
  ASSERT_TRUE(gateway.wait_ready()) << gateway.log();
  EXPECT_NE(gateway.log().find("past its nextUpdate"), std::string::npos) << gateway.log();

  auto as = [&](const char* client) {
    return curl({"--cacert", pki.ca_cert().string(), "--cert", pki.client_cert(client).string(),
                 "--key", pki.client_key(client).string(), "-o", "/dev/null",
                 gateway.https_url("/v1/models")})
        .exit_code;
  };
  EXPECT_EQ(as(TestPki::kGoodClient), 0);
  EXPECT_NE(as(TestPki::kRevokedClient), 0);
  auto records = gateway.access_records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records.back()["error"], "revoked");
}

}  // namespace
}  // namespace sanctum::test
