// A CRL past its nextUpdate is still enforced: the gateway keeps refusing
// the revoked client, lets the others in, and warns in its log.

#include <gtest/gtest.h>

#include "support/crl_file.hpp"
#include "support/gateway.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

using namespace std::chrono_literals;

TEST(ExpiredCrl, StillEnforcedWithWarning) {
  TempDir dir;
  TestPki pki(dir / "pki");
  auto crl = dir / "expired-crl.pem";
  write_crl(pki.ca_cert(), pki.ca_key(), {pki.client_cert(TestPki::kRevokedClient)},
            std::chrono::hours(-24), crl);

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
  ASSERT_TRUE(wait_until([&] { return gateway.access_records().size() >= 2; }, 5s));
  auto records = gateway.access_records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records.back()["error"], "revoked");
}

}  // namespace
}  // namespace sanctum::test
