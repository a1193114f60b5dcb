// The certificate chain the gateway sends: the server certificate, then the
// intermediates from tls.cert, or from the client CA bundle when tls.cert
// contains only the server certificate. A chain from the bundle leaves out
// the self-signed root, because every client has it as its trust anchor.

#include <cctype>

#include <gtest/gtest.h>

#include "support/gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ServerChainTest : public ::testing::Test {
 protected:
  TempDir dir;
  TestPki pki{dir / "pki"};

  std::unique_ptr<GatewayProcess> start(const fs::path& cert, const fs::path& key,
                                        const fs::path& client_ca) {
    auto gateway = std::make_unique<GatewayProcess>(
        dir.path(), std::vector<std::string>{"--listen", "127.0.0.1:0", "--upstream", "echo",
                                             "--cert", cert.string(), "--key", key.string(),
                                             "--client-ca", client_ca.string()});
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  // Runs one GET through `openssl s_client -showcerts`, trusting only the
  // root CA, as the good client.
  CommandResult s_client(const GatewayProcess& gateway) {
    return run_command(
        {"sh", "-c",
         "printf 'GET /v1/models HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
         "openssl s_client -showcerts -ign_eof -connect 127.0.0.1:" +
             std::to_string(gateway.port()) + " -CAfile " + pki.ca_cert().string() + " -cert " +
             pki.client_cert(TestPki::kGoodClient).string() + " -key " +
             pki.client_key(TestPki::kGoodClient).string()},
        15s);
  }

  // Returns the subjects of the certificates the server sent, from the
  // lines that s_client prints as " 0 s:CN = server".
  static std::vector<std::string> sent_subjects(const std::string& output) {
    std::vector<std::string> subjects;
    std::size_t start = 0;
    while (start < output.size()) {
      std::size_t end = output.find('\n', start);
      if (end == std::string::npos) {
        end = output.size();
      }
      std::string line = output.substr(start, end - start);
      if (line.size() > 4 && line[0] == ' ' && line.find(" s:") != std::string::npos &&
          std::isdigit(static_cast<unsigned char>(line[1]))) {
        subjects.push_back(line.substr(line.find("s:") + 2));
      }
      start = end + 1;
    }
    return subjects;
  }

  static bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

TEST_F(ServerChainTest, RootSignedSendsServerOnly) {
  auto gateway = start(pki.server_cert(), pki.server_key(), pki.ca_cert());
  auto result = s_client(*gateway);

  EXPECT_TRUE(contains(result.out, "HTTP/1.1 200")) << result.out << result.err;
  EXPECT_TRUE(contains(result.out, "Verify return code: 0 (ok)")) << result.out;
  auto subjects = sent_subjects(result.out);
  ASSERT_EQ(subjects.size(), 1u) << result.out;
  EXPECT_TRUE(contains(subjects[0], "server")) << subjects[0];
}

TEST_F(ServerChainTest, IntermediateFromClientCaBundle) {
  auto bundle = dir / "bundle.crt";
  write_text(bundle, read_text(pki.ca_cert()) + read_text(pki.intermediate_cert()));
  auto gateway = start(pki.intermediate_server_cert(), pki.intermediate_server_key(), bundle);
  auto result = s_client(*gateway);

  EXPECT_TRUE(contains(result.out, "HTTP/1.1 200")) << result.out << result.err;
  EXPECT_TRUE(contains(result.out, "Verify return code: 0 (ok)")) << result.out;
  auto subjects = sent_subjects(result.out);
  ASSERT_EQ(subjects.size(), 2u) << result.out;
  EXPECT_TRUE(contains(subjects[1], "intermediate")) << subjects[1];
}

TEST_F(ServerChainTest, IntermediateFromCertFile) {
  auto gateway =
      start(pki.intermediate_server_chain(), pki.intermediate_server_key(), pki.ca_cert());
  auto result = s_client(*gateway);

  EXPECT_TRUE(contains(result.out, "HTTP/1.1 200")) << result.out << result.err;
  EXPECT_TRUE(contains(result.out, "Verify return code: 0 (ok)")) << result.out;
  auto subjects = sent_subjects(result.out);
  ASSERT_EQ(subjects.size(), 2u) << result.out;
  EXPECT_TRUE(contains(subjects[1], "intermediate")) << subjects[1];
}

}  // namespace
}  // namespace sanctum::test
