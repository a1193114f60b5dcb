// `sanctum verify` against hosts in each migration state: dual-port,
// mTLS only with the token retired, half-migrated with a stale listener on
// the old port, and a token that came back. Real gateways on ephemeral
// loopback ports; the retired port is a free ephemeral port too.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ops/time_text.hpp"
#include "support/gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

// A listening socket on 127.0.0.1, held by this test process.
class StaleListener {
 public:
  StaleListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd_, 4);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~StaleListener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// Returns a port that was free a moment ago on 127.0.0.1.
std::uint16_t free_port() {
  StaleListener probe;
  return probe.port();
}

class VerifyTest : public ::testing::Test {
 protected:
  TempDir dir;
  TestPki pki{dir / "pki"};
  fs::path certs = dir / "certs";
  fs::path token = dir / "secrets" / "gateway.token";

  void SetUp() override {
    // The layout `sanctum ca` writes: ca.crt and clients/NAME.crt, .key.
    fs::create_directories(certs / "clients");
    fs::copy_file(pki.ca_cert(), certs / "ca.crt");
    fs::copy_file(pki.client_cert(TestPki::kGoodClient), certs / "clients" / "sanctum-server.crt");
    fs::copy_file(pki.client_key(TestPki::kGoodClient), certs / "clients" / "sanctum-server.key");
    ASSERT_EQ(sanctum({"token", "create", "--token-file", token.string()}).exit_code, 0);
  }

  CommandResult sanctum(std::vector<std::string> args) {
    args.insert(args.begin(), sanctum_binary());
    return run_command(args, 60s);
  }

  std::string tls_table() const {
    return "[tls]\ncert = \"" + pki.server_cert().string() + "\"\nkey = \"" +
           pki.server_key().string() + "\"\nclient_ca = \"" + pki.ca_cert().string() + "\"\n";
  }

  std::string mtls_listener(std::uint16_t port = 0) const {
    return "[[listener]]\nname = \"mtls\"\nbind = \"127.0.0.1:" + std::to_string(port) +
           "\"\nupstream = \"echo\"\n";
  }

  std::string write_config(const std::string& name, const std::string& body) {
    write_text(dir / name, body);
    return (dir / name).string();
  }

  std::unique_ptr<GatewayProcess> start(const std::string& config) {
    auto gateway = std::make_unique<GatewayProcess>(dir.path(), std::vector<std::string>{
                                                                    "--config", config});
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  // A fresh probe-log line as the sidecar probes write them.
  fs::path probe_log(const std::string& name, const std::string& transport) {
    auto path = dir / name;
    json line{{"time", ops::format_utc(ops::Clock::now())},
              {"probe", "guardian"},
              {"transport", transport},
              {"ok", true}};
    write_text(path, line.dump() + "\n");
    return path;
  }

  // Runs verify with --json and returns its exit code and the checks by id.
  std::pair<int, std::map<std::string, json>> verify(std::vector<std::string> args) {
    std::vector<std::string> argv{"verify", "--json", "--timeout", "2s", "--cert-dir",
                                  certs.string(), "--token-file", token.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = sanctum(argv);
    std::map<std::string, json> checks;
    auto parsed = json::parse(result.out, nullptr, false);
    EXPECT_TRUE(parsed.is_object()) << result.out << result.err;
    if (parsed.is_object()) {
      for (const auto& check : parsed["checks"]) {
        checks[check["id"].get<std::string>()] = check;
      }
      EXPECT_EQ(parsed["passed"], result.exit_code == 0);
    }
    return {result.exit_code, checks};
  }
};

std::string server_fingerprint(const fs::path& cert) {
  auto result = run_command({"openssl", "x509", "-in", cert.string(), "-noout", "-fingerprint",
                             "-sha256"});
  std::string text = result.out.substr(result.out.find('=') + 1);
  std::string hex;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return hex;
}

TEST_F(VerifyTest, DualPortFailsOldPortAndBearer) {
  auto config = write_config(
      "dual.toml", tls_table() +
                       "[[listener]]\nname = \"bearer\"\nbind = \"127.0.0.1:0\"\ntls = false\n"
                       "auth = \"bearer\"\nloopback_bypass = true\nupstream = \"echo\"\n"
                       "auth_token_file = \"" +
                       token.string() + "\"\n" + mtls_listener());
  auto gateway = start(config);
  auto plain_port = gateway->port_of("bearer");
  auto mtls_port = gateway->port_of("mtls");

  auto [code, checks] = verify({"--mtls-port", std::to_string(plain_port), "--old-port",
                                std::to_string(mtls_port), "--probe-log",
                                probe_log("guardian.log", "plain-loopback").string()});
  EXPECT_EQ(code, 1);
  EXPECT_EQ(checks["mtls-serves"]["status"], "FAIL");
  EXPECT_EQ(checks["plain-refused"]["status"], "FAIL");
  EXPECT_EQ(checks["plain-refused"]["evidence"]["status"], "200");
  EXPECT_EQ(checks["old-port-closed"]["status"], "FAIL");
  std::string summary = checks["old-port-closed"]["summary"];
  EXPECT_NE(summary.find("pid " + std::to_string(gateway->process().pid())), std::string::npos)
      << summary;
  EXPECT_EQ(checks["sidecar-mtls:guardian.log"]["status"], "FAIL");
  EXPECT_EQ(checks["bearer-retired"]["status"], "FAIL");
}

TEST_F(VerifyTest, MtlsOnlyWithTokenRetiredPassesAll) {
  auto gateway = start(write_config("mtls.toml", tls_table() + mtls_listener()));
  ASSERT_EQ(sanctum({"token", "retire", "--token-file", token.string()}).exit_code, 0);

  auto [code, checks] =
      verify({"--mtls-port", std::to_string(gateway->port()), "--old-port",
              std::to_string(free_port()), "--probe-log",
              probe_log("guardian.log", "mtls").string(), "--probe-log",
              probe_log("canary.log", "mtls").string()});
  EXPECT_EQ(code, 0);
  ASSERT_EQ(checks.size(), 6u);
  for (const auto& [id, check] : checks) {
    EXPECT_EQ(check["status"], "PASS") << id << ": " << check.dump();
  }
  EXPECT_EQ(checks["mtls-serves"]["evidence"]["tls_version"], "TLSv1.3");
  EXPECT_EQ(checks["mtls-serves"]["evidence"]["server_sha256"],
            server_fingerprint(pki.server_cert()));
  EXPECT_EQ(checks["mtls-serves"]["evidence"]["models"], "sanctum-echo");
  EXPECT_EQ(checks["plain-refused"]["evidence"]["status"], "400");
  EXPECT_EQ(checks["old-port-closed"]["evidence"]["connect"].get<std::string>().find(
                "connection refused") != std::string::npos,
            true);
  std::string bearer = checks["bearer-retired"]["summary"];
  EXPECT_NE(bearer.find("gateway.token.retired-"), std::string::npos) << bearer;
  EXPECT_NE(bearer.find("open until"), std::string::npos) << bearer;
}

TEST_F(VerifyTest, ConfigSuppliesPortCertsAndTextTable) {
  // tls.client_ca points into the certificate folder, as with `sanctum ca`.
  auto config = write_config(
      "mtls.toml", "plain = false\n[tls]\ncert = \"" + pki.server_cert().string() +
                       "\"\nkey = \"" + pki.server_key().string() + "\"\nclient_ca = \"" +
                       (certs / "ca.crt").string() + "\"\n" + mtls_listener(free_port()));
  auto gateway = start(config);
  ASSERT_EQ(sanctum({"token", "retire", "--token-file", token.string()}).exit_code, 0);
  auto result = sanctum({"verify", "--config", config, "--token-file", token.string(),
                         "--old-port", std::to_string(free_port())});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("PASS  mTLS serves on 127.0.0.1:" + std::to_string(gateway->port())),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("WARN  probes report transport mtls"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("4 PASS, 1 WARN, 0 FAIL"), std::string::npos) << result.out;
}

TEST_F(VerifyTest, ConfigPlainListenerIsOldPort) {
  // The config of a gateway served with --no-plain still lists the plain
  // listener; its port is the one that must be closed.
  std::uint16_t plain_port = free_port();
  auto config = write_config(
      "dual.toml", tls_table() + "[[listener]]\nname = \"bearer\"\nbind = \"127.0.0.1:" +
                       std::to_string(plain_port) +
                       "\"\ntls = false\nauth = \"bearer\"\nupstream = \"echo\"\n"
                       "auth_token_file = \"" +
                       token.string() + "\"\n" + mtls_listener(free_port()));
  auto [code, checks] = verify({"--config", config});
  EXPECT_EQ(checks["old-port-closed"]["status"], "PASS");
  EXPECT_EQ(checks["old-port-closed"]["title"],
            "nothing listens on the retired port " + std::to_string(plain_port));
}

TEST_F(VerifyTest, StaleListenerOnOldPortNamesPid) {
  auto gateway = start(write_config("mtls.toml", tls_table() + mtls_listener()));
  ASSERT_EQ(sanctum({"token", "retire", "--token-file", token.string()}).exit_code, 0);
  StaleListener stale;

  auto [code, checks] = verify({"--mtls-port", std::to_string(gateway->port()), "--old-port",
                                std::to_string(stale.port())});
  EXPECT_EQ(code, 1);
  EXPECT_EQ(checks["mtls-serves"]["status"], "PASS");
  EXPECT_EQ(checks["old-port-closed"]["status"], "FAIL");
  std::string summary = checks["old-port-closed"]["summary"];
  EXPECT_NE(summary.find("127.0.0.1:" + std::to_string(stale.port())), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("pid " + std::to_string(::getpid())), std::string::npos) << summary;
  EXPECT_EQ(checks["bearer-retired"]["status"], "PASS");
}

TEST_F(VerifyTest, RecreatedTokenFails) {
  auto gateway = start(write_config("mtls.toml", tls_table() + mtls_listener()));
  ASSERT_EQ(sanctum({"token", "retire", "--token-file", token.string()}).exit_code, 0);
  ASSERT_EQ(sanctum({"token", "create", "--token-file", token.string()}).exit_code, 0);

  auto [code, checks] = verify({"--mtls-port", std::to_string(gateway->port()), "--old-port",
                                std::to_string(free_port()), "--probe-log",
                                probe_log("guardian.log", "mtls").string()});
  EXPECT_EQ(code, 1);
  EXPECT_EQ(checks["mtls-serves"]["status"], "PASS");
  EXPECT_EQ(checks["old-port-closed"]["status"], "PASS");
  EXPECT_EQ(checks["bearer-retired"]["status"], "FAIL");
  std::string summary = checks["bearer-retired"]["summary"];
  EXPECT_NE(summary.find(token.string() + " exists"), std::string::npos) << summary;
}

TEST_F(VerifyTest, MissingClientCertificateFailsNamingFile) {
  auto gateway = start(write_config("mtls.toml", tls_table() + mtls_listener()));
  auto [code, checks] = verify({"--mtls-port", std::to_string(gateway->port()), "--old-port",
                                std::to_string(free_port()), "--client", "guardian"});
  EXPECT_EQ(code, 1);
  EXPECT_EQ(checks["mtls-serves"]["status"], "FAIL");
  std::string summary = checks["mtls-serves"]["summary"];
  EXPECT_NE(summary.find((certs / "clients" / "guardian.crt").string()), std::string::npos)
      << summary;
}

TEST_F(VerifyTest, ForeignClientCertificateFails) {
  auto gateway = start(write_config("mtls.toml", tls_table() + mtls_listener()));
  fs::copy_file(pki.client_cert(TestPki::kForeignClient), certs / "clients" / "foreign.crt");
  fs::copy_file(pki.client_key(TestPki::kForeignClient), certs / "clients" / "foreign.key");
  auto [code, checks] = verify({"--mtls-port", std::to_string(gateway->port()), "--old-port",
                                std::to_string(free_port()), "--client", "foreign"});
  EXPECT_EQ(code, 1);
  EXPECT_EQ(checks["mtls-serves"]["status"], "FAIL") << checks["mtls-serves"].dump();
}

TEST_F(VerifyTest, NothingListeningFailsMtlsWarnsPlain) {
  std::uint16_t mtls_port = 0;
  std::uint16_t old_port = 0;
  {
    // Both held at once, so the two ports differ.
    StaleListener first;
    StaleListener second;
    mtls_port = first.port();
    old_port = second.port();
  }
  auto [code, checks] = verify({"--mtls-port", std::to_string(mtls_port), "--old-port",
                                std::to_string(old_port)});
  EXPECT_EQ(code, 1);
  EXPECT_EQ(checks["mtls-serves"]["status"], "FAIL");
  EXPECT_NE(checks["mtls-serves"]["summary"].get<std::string>().find("connect-refused"),
            std::string::npos)
      << checks["mtls-serves"].dump();
  EXPECT_EQ(checks["plain-refused"]["status"], "WARN");
  EXPECT_EQ(checks["plain-refused"]["evidence"]["refused_by"], "connection refused");
}

TEST_F(VerifyTest, BadFlagValuesExitTwo) {
  auto same = sanctum({"verify", "--mtls-port", "4000", "--old-port", "4000"});
  EXPECT_EQ(same.exit_code, 2);
  EXPECT_NE(same.err.find("--old-port 4000 is the mTLS port"), std::string::npos) << same.err;
  auto age = sanctum({"verify", "--max-age", "soon"});
  EXPECT_EQ(age.exit_code, 2);
  EXPECT_NE(age.err.find("--max-age"), std::string::npos) << age.err;
  auto config = sanctum({"verify", "--config", (dir / "absent.toml").string()});
  EXPECT_EQ(config.exit_code, 2);
  EXPECT_NE(config.err.find("absent.toml"), std::string::npos) << config.err;
}

}  // namespace
}  // namespace sanctum::test
