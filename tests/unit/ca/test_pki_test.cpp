#include "support/test_pki.hpp"

#include <gtest/gtest.h>

#include "support/openssl_cli.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::test {
namespace {

class TestPkiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    temp_ = new TempDir();
    pki_ = new TestPki(temp_->path() / "pki");
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete temp_;
  }

  // -CAfile root with the combined CRL and the given purpose.
  static std::vector<std::string> root_with_crl(const std::string& purpose) {
    return {"-CAfile", pki_->ca_cert().string(), "-crl_check", "-CRLfile", pki_->crl().string(),
            "-purpose", purpose};
  }

  static TempDir* temp_;
  static TestPki* pki_;
};

TempDir* TestPkiTest::temp_ = nullptr;
TestPki* TestPkiTest::pki_ = nullptr;

TEST_F(TestPkiTest, ServerVerifiesAsSslServer) {
  auto result = openssl_verify(root_with_crl("sslserver"), pki_->server_cert());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  std::string text = openssl_x509_text(pki_->server_cert());
  EXPECT_TRUE(contains(text, "DNS:localhost")) << text;
  EXPECT_TRUE(contains(text, "IP Address:127.0.0.1")) << text;
  EXPECT_TRUE(contains(text, "IP Address:0:0:0:0:0:0:0:1")) << text;
}

TEST_F(TestPkiTest, IntermediateServerVerifiesThroughChain) {
  std::vector<std::string> options = {"-CAfile", pki_->ca_cert().string(), "-untrusted",
                                      pki_->intermediate_cert().string(), "-purpose", "sslserver"};
  auto result = openssl_verify(options, pki_->intermediate_server_cert());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  auto chain = openssl_verify({"-CAfile", pki_->ca_cert().string(), "-untrusted",
                               pki_->intermediate_server_chain().string()},
                              pki_->intermediate_server_cert());
  EXPECT_EQ(chain.exit_code, 0) << chain.output;
}

TEST_F(TestPkiTest, GoodClientsVerifyWithCrlCheck) {
  for (const char* name : {TestPki::kGoodClient, TestPki::kUriClient, TestPki::kNoEkuClient}) {
    auto result = openssl_verify(root_with_crl("sslclient"), pki_->client_cert(name));
    EXPECT_EQ(result.exit_code, 0) << name << ": " << result.output;
  }
  std::string text = openssl_x509_text(pki_->client_cert(TestPki::kUriClient));
  EXPECT_TRUE(contains(text, "URI:spiffe://sanctum.test/uri-client")) << text;
}

TEST_F(TestPkiTest, IntermediateClientVerifiesWithChainAndCrl) {
  std::vector<std::string> options = root_with_crl("sslclient");
  options.push_back("-untrusted");
  options.push_back(pki_->client_chain(TestPki::kIntermediateClient).string());
  auto result = openssl_verify(options, pki_->client_cert(TestPki::kIntermediateClient));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  auto without_chain =
      openssl_verify(root_with_crl("sslclient"), pki_->client_cert(TestPki::kIntermediateClient));
  EXPECT_NE(without_chain.exit_code, 0) << without_chain.output;
}

TEST_F(TestPkiTest, RevokedClientFailsCrlCheck) {
  auto result = openssl_verify(root_with_crl("sslclient"), pki_->client_cert(TestPki::kRevokedClient));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(contains(result.output, "certificate revoked")) << result.output;
}

TEST_F(TestPkiTest, ExpiredAndNotYetValidClientsFail) {
  auto expired = openssl_verify(root_with_crl("sslclient"), pki_->client_cert(TestPki::kExpiredClient));
  EXPECT_NE(expired.exit_code, 0);
  EXPECT_TRUE(contains(expired.output, "certificate has expired")) << expired.output;
  auto early =
      openssl_verify(root_with_crl("sslclient"), pki_->client_cert(TestPki::kNotYetValidClient));
  EXPECT_NE(early.exit_code, 0);
  EXPECT_TRUE(contains(early.output, "certificate is not yet valid")) << early.output;
}

TEST_F(TestPkiTest, ServerAuthClientFailsClientPurpose) {
  auto result =
      openssl_verify(root_with_crl("sslclient"), pki_->client_cert(TestPki::kServerAuthClient));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(contains(result.output, "unsuitable certificate purpose")) << result.output;
}

TEST_F(TestPkiTest, ForeignClientFailsAgainstRoot) {
  auto result = openssl_verify(root_with_crl("sslclient"), pki_->client_cert(TestPki::kForeignClient));
  EXPECT_NE(result.exit_code, 0);
  auto own_ca = openssl_verify({"-CAfile", pki_->foreign_ca_cert().string()},
                               pki_->client_cert(TestPki::kForeignClient));
  EXPECT_EQ(own_ca.exit_code, 0) << own_ca.output;
}

TEST_F(TestPkiTest, KeysArePrivate) {
  for (const char* name : {TestPki::kGoodClient, TestPki::kIntermediateClient}) {
    auto mode = std::filesystem::status(pki_->client_key(name)).permissions();
    EXPECT_EQ(mode, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << name;
  }
  EXPECT_TRUE(std::filesystem::exists(pki_->server_key()));
  EXPECT_TRUE(std::filesystem::exists(pki_->intermediate_server_key()));
  EXPECT_TRUE(std::filesystem::exists(pki_->intermediate_key()));
}

TEST_F(TestPkiTest, UnknownClientNameThrows) {
  EXPECT_THROW(pki_->client_cert("nobody"), std::out_of_range);
}

}  // namespace
}  // namespace sanctum::test
