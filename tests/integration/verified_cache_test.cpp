// The gateway skips the chain check for a client certificate it verified
// before under the same TLS material. These tests show what must still be
// rejected after a certificate has passed once: the same certificate once it
// expires, and a certificate from another CA that carries the same name.

#include <thread>

#include <gtest/gtest.h>

#include "ca/ca.hpp"
#include "support/gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class VerifiedCacheTest : public ::testing::Test {
 protected:
  TempDir dir;
  TestPki pki{dir / "pki"};

  std::unique_ptr<GatewayProcess> start() {
    auto gateway = std::make_unique<GatewayProcess>(
        dir.path(), std::vector<std::string>{"--listen", "127.0.0.1:0", "--upstream", "echo",
                                             "--threads", "1", "--cert",
                                             pki.server_cert().string(), "--key",
                                             pki.server_key().string(), "--client-ca",
                                             pki.ca_cert().string()});
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  // Issues a client certificate named `name` from the CA in `ca_dir`,
  // written to dir/`stem`.crt and .key.
  ca::IssuedCert issue(const fs::path& ca_dir, const std::string& name, const std::string& stem,
                        std::optional<ca::TimePoint> not_after = std::nullopt) {
    ca::IssueOptions options;
    options.paths = ca::paths_for(ca_dir);
    options.name = name;
    options.role = ca::Role::client;
    options.days = 1;
    options.not_after = not_after;
    options.cert_out = dir / (stem + ".crt");
    options.key_out = dir / (stem + ".key");
    options.record_in_index = false;
    options.force = true;
    auto issued = ca::issue(options);
    if (!issued) {
      ADD_FAILURE() << issued.error().message;
      return {};
    }
    return *issued;
  }

  CommandResult request_as(const GatewayProcess& gateway, const fs::path& cert,
                           const fs::path& key) {
    return curl({"--cacert", pki.ca_cert().string(), "--cert", cert.string(), "--key",
                 key.string(), "-o", "/dev/null", gateway.https_url("/v1/models")});
  }
};

TEST_F(VerifiedCacheTest, CertificateRejectedOnceItExpires) {
  auto not_after = ca::Clock::now() + 4s;
  auto issued = issue(pki.dir() / "root", "short-lived", "short-lived", not_after);
  auto gateway = start();
  auto first = request_as(*gateway, issued.cert_file, issued.key_file);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = request_as(*gateway, issued.cert_file, issued.key_file);
  ASSERT_EQ(second.exit_code, 0) << second.err;

  std::this_thread::sleep_until(not_after + 1500ms);
  auto expired = request_as(*gateway, issued.cert_file, issued.key_file);
  EXPECT_NE(expired.exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return gateway->access_records().size() >= 3; }, 5s));
  EXPECT_EQ(gateway->access_records().back()["error"], "expired");
}

TEST_F(VerifiedCacheTest, SameNameFromAnotherCaRejected) {
  auto genuine = issue(pki.dir() / "root", "twin", "genuine");
  auto gateway = start();
  auto accepted = request_as(*gateway, genuine.cert_file, genuine.key_file);
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;

  auto impostor = issue(pki.dir() / "foreign", "twin", "impostor");
  auto rejected = request_as(*gateway, impostor.cert_file, impostor.key_file);
  EXPECT_NE(rejected.exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return gateway->access_records().size() >= 2; }, 5s));
  EXPECT_EQ(gateway->access_records().back()["error"], "unknown-ca");

  auto again = request_as(*gateway, genuine.cert_file, genuine.key_file);
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

}  // namespace
}  // namespace sanctum::test
