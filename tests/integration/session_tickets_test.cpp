// Session resumption follows tls.session_tickets. Off (the default), the
// gateway sends no TLS 1.3 ticket and no TLS 1.2 session ID, so a client has
// no session to offer and every connection makes a full handshake. On, both
// versions resume.

#include <gtest/gtest.h>

#include "support/gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class SessionTicketsTest : public ::testing::Test {
 protected:
  TempDir dir;
  TestPki pki{dir / "pki"};

  std::vector<std::string> tls_flags() const {
    return {"--cert", pki.server_cert().string(), "--key", pki.server_key().string(),
            "--client-ca", pki.ca_cert().string(), "--crl", pki.crl().string()};
  }

  std::unique_ptr<GatewayProcess> start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--upstream", "echo"};
    auto flags = tls_flags();
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), extra.begin(), extra.end());
    auto gateway = std::make_unique<GatewayProcess>(dir.path(), args);
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  // Sends one GET /v1/models through `openssl s_client` as the good client.
  // `version` is "-tls1_3" or "-tls1_2". `session_flag` is "-sess_out" to
  // save the session to `session_file`, or "-sess_in" to offer it.
  CommandResult s_client(const GatewayProcess& gateway, const std::string& version,
                         const std::string& session_flag, const fs::path& session_file) {
    return run_command(
        {"sh", "-c",
         "printf 'GET /v1/models HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
         "openssl s_client -ign_eof " +
             version + " -connect 127.0.0.1:" + std::to_string(gateway.port()) + " -CAfile " +
             pki.ca_cert().string() + " -cert " +
             pki.client_cert(TestPki::kGoodClient).string() + " -key " +
             pki.client_key(TestPki::kGoodClient).string() + " " + session_flag + " " +
             session_file.string()},
        15s);
  }

  static bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

TEST_F(SessionTicketsTest, OffByDefaultSendsNoTls13Ticket) {
  auto gateway = start();
  auto session = dir / "tls13.session";
  auto first = s_client(*gateway, "-tls1_3", "-sess_out", session);
  ASSERT_TRUE(contains(first.out, "HTTP/1.1 200")) << first.out << first.err;
  // s_client writes a TLS 1.3 session only when a ticket arrives.
  EXPECT_FALSE(fs::exists(session)) << "the gateway sent a session ticket";
  EXPECT_TRUE(contains(gateway->log(), "session tickets: off")) << gateway->log();
}

TEST_F(SessionTicketsTest, OffByDefaultGivesNoTls12Session) {
  auto gateway = start();
  auto session = dir / "tls12.session";
  auto first = s_client(*gateway, "-tls1_2", "-sess_out", session);
  ASSERT_TRUE(contains(first.out, "HTTP/1.1 200")) << first.out << first.err;
  // An empty session ID and no ticket leave the client nothing to offer,
  // so s_client does not save the session.
  EXPECT_TRUE(contains(first.out, "Session-ID: \n")) << first.out;
  EXPECT_FALSE(contains(first.out, "TLS session ticket:")) << first.out;
  EXPECT_FALSE(fs::exists(session));
}

TEST_F(SessionTicketsTest, FlagResumesBothVersions) {
  auto gateway = start({"--session-tickets"});
  EXPECT_TRUE(contains(gateway->log(), "session tickets: on")) << gateway->log();
  for (std::string version : {"-tls1_3", "-tls1_2"}) {
    auto session = dir / ("session" + version);
    auto first = s_client(*gateway, version, "-sess_out", session);
    ASSERT_TRUE(contains(first.out, "HTTP/1.1 200")) << version << first.out << first.err;

    auto second = s_client(*gateway, version, "-sess_in", session);
    EXPECT_TRUE(contains(second.out, "HTTP/1.1 200")) << version << second.out << second.err;
    EXPECT_TRUE(contains(second.out, "Reused")) << version << second.out;
  }
}

TEST_F(SessionTicketsTest, CheckShowsConfigKey) {
  auto config = dir / "sanctum.toml";
  auto write_config = [&](const std::string& tickets_line) {
    write_text(config, "[tls]\ncert = \"" + pki.server_cert().string() + "\"\nkey = \"" +
                           pki.server_key().string() + "\"\nclient_ca = \"" +
                           pki.ca_cert().string() + "\"\n" + tickets_line +
                           "\n[[listener]]\nname = \"mtls\"\nbind = \"127.0.0.1:0\"\n"
                           "upstream = \"echo\"\n");
  };

  write_config("");
  auto off = run_command({sanctum_binary(), "serve", "--check", "--config", config.string()}, 15s);
  EXPECT_EQ(off.exit_code, 0) << off.err;
  EXPECT_TRUE(contains(off.out, "TLS session tickets off")) << off.out;

  write_config("session_tickets = true");
  auto on = run_command({sanctum_binary(), "serve", "--check", "--config", config.string()}, 15s);
  EXPECT_EQ(on.exit_code, 0) << on.err;
  EXPECT_TRUE(contains(on.out, "TLS session tickets on")) << on.out;
}

TEST_F(SessionTicketsTest, FlagRejectedWithConfig) {
  auto config = dir / "sanctum.toml";
  write_text(config, "[[listener]]\nname = \"mtls\"\nbind = \"127.0.0.1:0\"\nupstream = \"echo\"\n");
  auto result = run_command(
      {sanctum_binary(), "serve", "--check", "--config", config.string(), "--session-tickets"},
      15s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.err, "--session-tickets")) << result.err;
}

}  // namespace
}  // namespace sanctum::test
