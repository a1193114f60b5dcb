// End-to-end tests of the plain bearer listener (tls = false,
// auth = "bearer"): token checks, the loopback bypass and its guards, the
// token file's permissions, --no-plain, and that the token stays out of logs,
// argv and upstream requests.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fake_upstream.hpp"
#include "support/gateway.hpp"
#include "support/network_namespace.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kToken = "tok-3f9a1c7e5b2d4a6890e1f2a3b4c5d6e7";

// Returns a port that was free a moment ago on 127.0.0.1.
std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// Splits "-w '\n%{http_code}'" output into body and status.
std::pair<std::string, int> body_and_status(const std::string& out) {
  auto newline = out.rfind('\n');
  if (newline == std::string::npos) {
    return {"", std::atoi(out.c_str())};
  }
  return {out.substr(0, newline), std::atoi(out.c_str() + newline + 1)};
}

class BearerTest : public ::testing::Test {
 protected:
  TempDir dir;
  FakeUpstream upstream;

  void SetUp() override {
    std::filesystem::create_directories(dir / "secrets");
    std::filesystem::permissions(dir / "secrets", std::filesystem::perms::owner_all);
    write_text(token_file(), std::string(kToken) + "\n", 0600);
    // curl reads the header from a file so the token is not in its argv.
    write_text(dir / "auth-header", std::string("Authorization: Bearer ") + kToken + "\n", 0600);
    write_text(dir / "wrong-header", "Authorization: Bearer not-the-token\n", 0600);
  }

  std::filesystem::path token_file() const { return dir / "secrets" / "gateway.token"; }

  // A [[listener]] table for a plain bearer listener on `bind`.
  std::string bearer_listener(const std::string& bind, bool bypass,
                              const std::string& upstream_url = "") const {
    return "[[listener]]\nname = \"bearer\"\nbind = " + bind +
           "\ntls = false\nauth = \"bearer\"\nupstream = \"" +
           (upstream_url.empty() ? upstream.url() : upstream_url) + "\"\nauth_token_file = \"" +
           token_file().string() + "\"\nloopback_bypass = " + (bypass ? "true" : "false") + "\n";
  }

  std::string write_config(const std::string& body, const std::string& name = "sanctum.toml") {
    auto path = dir / name;
    write_text(path, body);
    return path.string();
  }

  std::unique_ptr<GatewayProcess> start(const std::string& config,
                                        std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--config", config, "--log-level", "trace"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto gateway = std::make_unique<GatewayProcess>(dir.path(), args);
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  // curl against the plain listener with `-w '\n%{http_code}'` appended.
  std::pair<std::string, int> get(const std::string& url, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"-w", "\n%{http_code}"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url);
    auto result = curl(args);
    return body_and_status(result.out);
  }

  std::vector<std::string> with_token() const { return {"-H", "@" + (dir / "auth-header").string()}; }
  std::vector<std::string> with_wrong_token() const {
    return {"-H", "@" + (dir / "wrong-header").string()};
  }
};

TEST_F(BearerTest, CorrectTokenPassesAsPlainBearer) {
  auto gateway = start(write_config(bearer_listener("\"127.0.0.1:0\"", false)));
  auto [body, status] = get(gateway->http_url("/v1/models"), with_token());
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(body, "{\"ok\":true}");
  ASSERT_TRUE(wait_until([&] { return !gateway->access_records().empty(); }, 5s));
  EXPECT_EQ(gateway->access_records().back()["transport"], "plain-bearer");
}

TEST_F(BearerTest, WrongTokenGets401WithChallenge) {
  auto gateway = start(write_config(bearer_listener("\"127.0.0.1:0\"", false)));
  auto args = with_wrong_token();
  args.insert(args.end(), {"-D", (dir / "headers.txt").string()});
  auto [body, status] = get(gateway->http_url("/v1/models"), args);
  EXPECT_EQ(status, 401);
  EXPECT_NE(read_text(dir / "headers.txt").find("WWW-Authenticate: Bearer"), std::string::npos)
      << read_text(dir / "headers.txt");
  auto error = json::parse(body);
  EXPECT_EQ(error["error"]["type"], "authentication_error");
  EXPECT_EQ(error["error"]["code"], "invalid_api_key");
  EXPECT_TRUE(error["error"]["message"].is_string());
  EXPECT_TRUE(upstream.requests().empty());
}

TEST_F(BearerTest, MissingTokenGets401WithChallenge) {
  auto gateway = start(write_config(bearer_listener("\"127.0.0.1:0\"", false)));
  auto [body, status] =
      get(gateway->http_url("/v1/models"), {"-D", (dir / "headers.txt").string()});
  EXPECT_EQ(status, 401);
  EXPECT_NE(read_text(dir / "headers.txt").find("WWW-Authenticate: Bearer"), std::string::npos);
  auto error = json::parse(body);
  EXPECT_EQ(error["error"]["type"], "authentication_error");
  EXPECT_EQ(error["error"]["code"], "missing_api_key");
  EXPECT_TRUE(upstream.requests().empty());
}

TEST_F(BearerTest, WrongSchemeGets401) {
  auto gateway = start(write_config(bearer_listener("\"127.0.0.1:0\"", false)));
  write_text(dir / "basic-header", std::string("Authorization: Basic ") + kToken + "\n", 0600);
  auto [body, status] =
      get(gateway->http_url("/v1/models"), {"-H", "@" + (dir / "basic-header").string()});
  EXPECT_EQ(status, 401);
  EXPECT_TRUE(upstream.requests().empty());
}

TEST_F(BearerTest, TokenNeverLoggedOrForwarded) {
  auto gateway = start(write_config(bearer_listener("\"127.0.0.1:0\"", false)));
  auto [body, status] = get(gateway->http_url("/inspect"), with_token());
  ASSERT_EQ(status, 200) << body;
  auto seen = json::parse(body);
  EXPECT_FALSE(seen["headers"].contains("authorization")) << body;
  get(gateway->http_url("/v1/models"), with_wrong_token());
  get(gateway->http_url("/v1/models"));

  ASSERT_TRUE(wait_until([&] { return gateway->access_records().size() >= 3; }, 5s));
  std::string serve_log = gateway->log();
  std::string access_log = read_text(dir / "access.log");
  EXPECT_FALSE(serve_log.empty());
  EXPECT_EQ(serve_log.find(kToken), std::string::npos);
  EXPECT_EQ(access_log.find(kToken), std::string::npos);
  EXPECT_EQ(serve_log.find("not-the-token"), std::string::npos);
  EXPECT_EQ(access_log.find("not-the-token"), std::string::npos);
  for (const auto& request : upstream.requests()) {
    EXPECT_EQ(request.headers.count("authorization"), 0u) << request.target;
  }
}

TEST_F(BearerTest, TokenNotInProcessArguments) {
  auto gateway = start(write_config(bearer_listener("\"127.0.0.1:0\"", false)));
  std::string cmdline =
      read_text("/proc/" + std::to_string(gateway->process().pid()) + "/cmdline");
  ASSERT_FALSE(cmdline.empty());
  EXPECT_EQ(cmdline.find(kToken), std::string::npos);
  auto ps = run_command({"ps", "-ww", "-o", "args=", "-p", std::to_string(gateway->process().pid())});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_NE(ps.out.find("serve"), std::string::npos) << ps.out;
  EXPECT_EQ(ps.out.find(kToken), std::string::npos) << ps.out;
}

TEST_F(BearerTest, LoopbackBypassFromIpv4AndIpv6) {
  auto gateway =
      start(write_config(bearer_listener("[\"127.0.0.1:0\", \"[::1]:0\"]", true)));
  auto [v4_body, v4_status] = get(gateway->http_url("/v1/models", 0));
  EXPECT_EQ(v4_status, 200) << v4_body;
  auto [v6_body, v6_status] =
      get("http://[::1]:" + std::to_string(gateway->port(1)) + "/v1/models");
  EXPECT_EQ(v6_status, 200) << v6_body;
  ASSERT_TRUE(wait_until([&] { return gateway->access_records().size() >= 2; }, 5s));
  for (const auto& record : gateway->access_records()) {
    EXPECT_EQ(record["transport"], "plain-loopback") << record.dump();
  }
}

TEST_F(BearerTest, BypassWithOriginHeaderGets403) {
  auto gateway = start(write_config(bearer_listener("\"127.0.0.1:0\"", true)));
  auto [body, status] =
      get(gateway->http_url("/v1/models"), {"-H", "Origin: http://evil.example"});
  EXPECT_EQ(status, 403);
  EXPECT_EQ(json::parse(body)["error"]["code"], "origin_not_allowed");
  EXPECT_TRUE(upstream.requests().empty());
}

TEST_F(BearerTest, BypassWithForeignHostGets403) {
  auto gateway = start(write_config(bearer_listener("\"127.0.0.1:0\"", true)));
  auto [body, status] = get(gateway->http_url("/v1/models"), {"-H", "Host: evil.example"});
  EXPECT_EQ(status, 403);
  EXPECT_EQ(json::parse(body)["error"]["code"], "host_not_allowed");
  EXPECT_TRUE(upstream.requests().empty());
}

TEST_F(BearerTest, WrongTokenRefusedEvenFromLoopback) {
  auto gateway = start(write_config(bearer_listener("\"127.0.0.1:0\"", true)));
  auto [body, status] = get(gateway->http_url("/v1/models"), with_wrong_token());
  EXPECT_EQ(status, 401);
  EXPECT_TRUE(upstream.requests().empty());
}

TEST_F(BearerTest, GroupReadableTokenFileStopsStartup) {
  std::filesystem::permissions(token_file(), static_cast<std::filesystem::perms>(0640));
  auto config = write_config(bearer_listener("\"127.0.0.1:0\"", true));
  auto result = run_command({sanctum_binary(), "serve", "--config", config}, 15s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(token_file().string()), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("chmod 600"), std::string::npos) << result.err;
}

class BearerNamespaceTest : public BearerTest {
 protected:
  PrivateNamespace ns;

  // Runs curl inside the namespace from source address `source`.
  std::pair<std::string, int> get_inside(const std::string& source, const std::string& url,
                                         std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{"curl", "-sS", "--max-time", "10", "--interface", source, "-w",
                                  "\n%{http_code}"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url);
    auto result = run_command(ns.wrap(argv), 20s);
    return body_and_status(result.out);
  }
};

TEST_F(BearerNamespaceTest, BypassRefusedFromNonLoopbackPeer) {
  if (!ns.ok()) {
    GTEST_SKIP() << "cannot create a network namespace (needs root and iproute2)";
  }
  // The fake upstream lives outside the namespace, so the echo model serves.
  auto config = write_config(bearer_listener(
      std::string("[\"") + PrivateNamespace::kOuterAddress + ":0\", \"127.0.0.1:0\"]", true,
      "echo"));
  auto argv = ns.wrap({sanctum_binary(), "serve", "--config", config, "--ready-file",
                       (dir / "ready.json").string(), "--access-log",
                       (dir / "access.log").string()});
  auto gateway = Process::start(argv, dir / "serve.out", dir / "serve.log");
  ASSERT_TRUE(wait_until(
      [&] { return std::filesystem::exists(dir / "ready.json") || !gateway.running(); }, 15s))
      << read_text(dir / "serve.log");
  ASSERT_TRUE(std::filesystem::exists(dir / "ready.json")) << read_text(dir / "serve.log");
  auto ready = json::parse(read_text(dir / "ready.json"));
  std::string outer_port = std::to_string(ready["listeners"][0]["port"].get<int>());
  std::string loopback_port = std::to_string(ready["listeners"][1]["port"].get<int>());
  std::string outer_url =
      std::string("http://") + PrivateNamespace::kOuterAddress + ":" + outer_port + "/v1/models";

  auto [loop_body, loop_status] =
      get_inside("127.0.0.1", "http://127.0.0.1:" + loopback_port + "/v1/models");
  EXPECT_EQ(loop_status, 200) << loop_body;

  auto [plain_body, plain_status] = get_inside(PrivateNamespace::kOuterAddress, outer_url);
  EXPECT_EQ(plain_status, 401) << plain_body;

  auto [xff_body, xff_status] = get_inside(PrivateNamespace::kOuterAddress, outer_url,
                                           {"-H", "X-Forwarded-For: 127.0.0.1", "-H",
                                            "Host: 127.0.0.1"});
  EXPECT_EQ(xff_status, 401) << xff_body;

  auto [token_body, token_status] =
      get_inside(PrivateNamespace::kOuterAddress, outer_url, with_token());
  EXPECT_EQ(token_status, 200) << token_body;

  std::vector<std::string> transports;
  std::istringstream lines(read_text(dir / "access.log"));
  for (std::string line; std::getline(lines, line);) {
    auto record = json::parse(line);
    transports.push_back(record["transport"].get<std::string>() + " " +
                         record["peer"].get<std::string>().substr(0, 9));
  }
  EXPECT_EQ(transports, (std::vector<std::string>{"plain-loopback 127.0.0.1", "plain-bearer 192.0.2.1",
                                                  "plain-bearer 192.0.2.1",
                                                  "plain-bearer 192.0.2.1"}));
}

TEST_F(BearerTest, NoPlainDropsBearerListener) {
  TestPki pki(dir / "pki");
  std::uint16_t plain_port = free_port();
  auto config = write_config("[tls]\ncert = \"" + pki.server_cert().string() + "\"\nkey = \"" +
                             pki.server_key().string() + "\"\nclient_ca = \"" +
                             pki.ca_cert().string() + "\"\n" +
                             bearer_listener("\"127.0.0.1:" + std::to_string(plain_port) + "\"",
                                             true) +
                             "[[listener]]\nname = \"mtls\"\nbind = \"127.0.0.1:0\"\nupstream = \"" +
                             upstream.url() + "\"\n");
  auto gateway = start(config, {"--no-plain"});
  auto ready = json::parse(read_text(dir / "ready.json"));
  ASSERT_EQ(ready["listeners"].size(), 1u) << ready.dump();
  EXPECT_EQ(ready["listeners"][0]["name"], "mtls");

  auto refused = curl({"http://127.0.0.1:" + std::to_string(plain_port) + "/v1/models"});
  // curl exit code 7: could not connect, so nothing listens on the port.
  EXPECT_EQ(refused.exit_code, 7) << refused.err;

  auto served = curl({"--cacert", pki.ca_cert().string(), "--cert",
                      pki.client_cert(TestPki::kGoodClient).string(), "--key",
                      pki.client_key(TestPki::kGoodClient).string(),
                      gateway->https_url("/v1/models")});
  EXPECT_EQ(served.exit_code, 0) << served.err;
}

TEST_F(BearerTest, NoPlainWithOnlyPlainListenersFails) {
  auto config = write_config(bearer_listener("\"127.0.0.1:0\"", true));
  auto result = run_command({sanctum_binary(), "serve", "--config", config, "--no-plain"}, 15s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("--no-plain"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("tls = true"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace sanctum::test
