// Revocation covers every certificate of a client's chain below the trust
// anchor: an intermediate CA's CRL revokes its leaves, and the root's CRL
// revokes the intermediate itself, which rejects every leaf under it. The
// client's own issuer must have a CRL in the file.

#include <gtest/gtest.h>

#include "support/crl_file.hpp"
#include "support/gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class RevocationTest : public ::testing::Test {
 protected:
  TempDir dir;
  TestPki pki{dir / "pki"};
  fs::path root_crl = pki.dir() / "root" / "crl.pem";
  fs::path intermediate_crl = pki.dir() / "intermediate" / "crl.pem";

  // Starts a gateway that trusts the root CA and reads the concatenation of
  // `crls` as its CRL file.
  std::unique_ptr<GatewayProcess> start(std::initializer_list<fs::path> crls) {
    std::string text;
    for (const fs::path& crl : crls) {
      text += read_text(crl);
    }
    write_text(dir / "crl.pem", text);
    auto gateway = std::make_unique<GatewayProcess>(
        dir.path(), std::vector<std::string>{
                        "--listen", "127.0.0.1:0", "--upstream", "echo", "--cert",
                        pki.server_cert().string(), "--key", pki.server_key().string(),
                        "--client-ca", pki.ca_cert().string(), "--crl", (dir / "crl.pem").string()});
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  // Returns curl's exit code for GET /v1/models as `client`, which sends its
  // whole chain.
  int request_as(const GatewayProcess& gateway, const char* client) {
    auto result = curl({"--cacert", pki.ca_cert().string(), "--cert",
                        pki.client_chain(client).string(), "--key",
                        pki.client_key(client).string(), "-o", "/dev/null",
                        gateway.https_url("/v1/models")});
    return result.exit_code;
  }

  // Waits for `count` access records and returns them. A rejected handshake
  // is logged when the gateway detects the failure, which can be after curl
  // exits.
  std::vector<nlohmann::json> records_after(const GatewayProcess& gateway, std::size_t count) {
    EXPECT_TRUE(wait_until([&] { return gateway.access_records().size() >= count; }, 5s))
        << gateway.log();
    return gateway.access_records();
  }

  // Revokes `name` in the intermediate CA's state folder with `sanctum ca`,
  // which rewrites the intermediate's crl.pem.
  void revoke_under_intermediate(const std::string& name) {
    auto result = run_command({sanctum_binary(), "ca", "revoke", name, "--dir",
                               (pki.dir() / "intermediate").string()},
                              30s);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }
};

TEST_F(RevocationTest, IntermediateCrlRevokesLeaf) {
  revoke_under_intermediate(TestPki::kIntermediateClient);
  auto gateway = start({root_crl, intermediate_crl});

  EXPECT_NE(request_as(*gateway, TestPki::kIntermediateClient), 0);
  EXPECT_EQ(request_as(*gateway, TestPki::kGoodClient), 0);
  auto records = records_after(*gateway, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records.front()["error"], "revoked");
  EXPECT_EQ(records.back()["status"], 200);
}

TEST_F(RevocationTest, RootCrlRevokesIntermediate) {
  auto revoking_root_crl = dir / "root-revokes-intermediate.pem";
  write_crl(pki.ca_cert(), pki.ca_key(), {pki.intermediate_cert()}, 24h, revoking_root_crl);
  auto gateway = start({revoking_root_crl, intermediate_crl});
  EXPECT_NE(gateway->log().find("1 revoked"), std::string::npos) << gateway->log();

  EXPECT_NE(request_as(*gateway, TestPki::kIntermediateClient), 0);
  EXPECT_EQ(request_as(*gateway, TestPki::kGoodClient), 0);
  auto records = records_after(*gateway, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records.front()["error"], "revoked");
  EXPECT_EQ(records.back()["status"], 200);
}

TEST_F(RevocationTest, IntermediateCrlLeavesRootClientsAlone) {
  revoke_under_intermediate(TestPki::kIntermediateClient);
  // The root's CRL revokes kRevokedClient. The intermediate's CRL lists a
  // certificate that the intermediate issued, and must not affect a client
  // of the root.
  auto gateway = start({root_crl, intermediate_crl});

  EXPECT_EQ(request_as(*gateway, TestPki::kGoodClient), 0);
  EXPECT_NE(request_as(*gateway, TestPki::kRevokedClient), 0);
  auto records = records_after(*gateway, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records.back()["error"], "revoked");
}

TEST_F(RevocationTest, LeafWithoutIssuerCrlRejected) {
  auto gateway = start({root_crl});

  EXPECT_NE(request_as(*gateway, TestPki::kIntermediateClient), 0);
  EXPECT_EQ(request_as(*gateway, TestPki::kGoodClient), 0);
  auto records = records_after(*gateway, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records.front()["error"], "tls-error");
}

}  // namespace
}  // namespace sanctum::test
