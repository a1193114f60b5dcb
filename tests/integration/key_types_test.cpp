// Every key type that `sanctum ca issue --key` offers works on both ends of
// a handshake: a client certificate of each type reaches the model through a
// gateway whose own certificate has each type, with curl as the client. A
// client that offers a single key-exchange group gets a handshake with it.

#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "support/gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::test {
namespace {

using namespace std::chrono_literals;

// Strings, not C strings, so that CTest's test list shows the names rather
// than pointers.
class KeyTypes : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  TempDir dir;
  std::filesystem::path state = dir / "state";

  void ca(std::vector<std::string> args) {
    auto result = run_ca(state, args, 60s);
    ASSERT_EQ(result.exit_code, 0) << "sanctum ca " << args.front() << ": " << result.err;
  }
};

TEST_P(KeyTypes, ClientReachesModel) {
  auto [server_key, client_key] = GetParam();
  ca({"init"});
  ca({"issue", "server", "--server", "--key", server_key});
  ca({"issue", "laptop", "--client", "--key", client_key});
  GatewayProcess gateway(
      dir.path(), {"--listen", "127.0.0.1:0", "--upstream", "echo", "--cert",
                   (state / "server.crt").string(), "--key", (state / "server.key").string(),
                   "--client-ca", (state / "ca.crt").string()});
  ASSERT_TRUE(gateway.wait_ready()) << gateway.log();
  auto result = curl({"--cacert", (state / "ca.crt").string(), "--cert",
                      (state / "clients/laptop.crt").string(), "--key",
                      (state / "clients/laptop.key").string(), gateway.https_url("/v1/models")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("sanctum-echo"), std::string::npos) << result.out;
}

INSTANTIATE_TEST_SUITE_P(ServerAndClient, KeyTypes,
                         ::testing::Combine(::testing::Values(std::string("ecdsa-p256"),
                                                              std::string("ed25519"),
                                                              std::string("rsa-3072")),
                                            ::testing::Values(std::string("ecdsa-p256"),
                                                              std::string("ed25519"),
                                                              std::string("rsa-3072"))),
                         [](const auto& info) {
                           std::string name = std::string(std::get<0>(info.param)) + "_" +
                                              std::get<1>(info.param);
                           std::erase(name, '-');
                           return name;
                         });

class KeyExchangeGroup : public KeyTypes {};

TEST_P(KeyExchangeGroup, HandshakeUsesOfferedGroup) {
  const std::string& group = std::get<0>(GetParam());
  ca({"init"});
  ca({"issue", "server", "--server"});
  ca({"issue", "laptop", "--client"});
  GatewayProcess gateway(
      dir.path(), {"--listen", "127.0.0.1:0", "--upstream", "echo", "--cert",
                   (state / "server.crt").string(), "--key", (state / "server.key").string(),
                   "--client-ca", (state / "ca.crt").string()});
  ASSERT_TRUE(gateway.wait_ready()) << gateway.log();
  auto result = run_command(
      {"sh", "-c",
       "printf 'GET /v1/models HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
       "openssl s_client -ign_eof -tls1_3 -groups " +
           group + " -connect 127.0.0.1:" + std::to_string(gateway.port()) +
           " -CAfile " + (state / "ca.crt").string() + " -cert " +
           (state / "clients/laptop.crt").string() + " -key " +
           (state / "clients/laptop.key").string()},
      30s);
  EXPECT_NE(result.out.find("HTTP/1.1 200"), std::string::npos) << result.out << result.err;
  EXPECT_NE(result.out.find(std::string("Server Temp Key: ") + std::get<1>(GetParam())),
            std::string::npos)
      << result.out;
}

INSTANTIATE_TEST_SUITE_P(Groups, KeyExchangeGroup,
                         ::testing::Values(
                             std::tuple<std::string, std::string>{"X25519", "X25519"},
                             std::tuple<std::string, std::string>{"P-256", "ECDH, prime256v1"},
                             std::tuple<std::string, std::string>{"P-384", "ECDH, secp384r1"},
                             std::tuple<std::string, std::string>{"X448", "X448"},
                             std::tuple<std::string, std::string>{"ffdhe2048", "DH, 2048 bits"}),
                         [](const auto& info) {
                           std::string name = std::get<0>(info.param);
                           std::erase(name, '-');
                           return name;
                         });

}  // namespace
}  // namespace sanctum::test
