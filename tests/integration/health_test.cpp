// The gateway's health surface on an mTLS listener: /healthz, /readyz,
// /metrics and /sanctum/status, for any client whose certificate verifies.

#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fake_upstream.hpp"
#include "support/gateway.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class HealthTest : public ::testing::Test {
 protected:
  TempDir dir;
  TestPki pki{dir / "pki"};

  std::unique_ptr<GatewayProcess> start(const std::string& upstream,
                                        std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--upstream", upstream, "--cert",
                                  pki.server_cert().string(), "--key", pki.server_key().string(),
                                  "--client-ca", pki.ca_cert().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto gateway = std::make_unique<GatewayProcess>(dir.path(), args);
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  CommandResult get(const GatewayProcess& gateway, const std::string& path,
                    const std::string& client = TestPki::kGoodClient) {
    return curl({"--cacert", pki.ca_cert().string(), "--cert", pki.client_cert(client).string(),
                 "--key", pki.client_key(client).string(), "-w", "\n%{http_code}",
                 gateway.https_url(path)});
  }

  static int status_of(const CommandResult& result) {
    return std::atoi(result.out.c_str() + result.out.rfind('\n') + 1);
  }
  static std::string body_of(const CommandResult& result) {
    return result.out.substr(0, result.out.rfind('\n'));
  }

  // The value of one sample line of a Prometheus scrape, -1 when absent.
  static double sample(const std::string& scrape, const std::string& series) {
    auto at = scrape.find("\n" + series + " ");
    if (at == std::string::npos) {
      return -1;
    }
    return std::stod(scrape.substr(at + series.size() + 2));
  }
};

TEST_F(HealthTest, ProbesIgnoreAllowList) {
  auto gateway = start("echo", {"--allow", "someone-else"});
  auto health = get(*gateway, "/healthz");
  EXPECT_EQ(status_of(health), 200);
  EXPECT_EQ(json::parse(body_of(health))["status"], "ok");
  auto ready = get(*gateway, "/readyz");
  EXPECT_EQ(status_of(ready), 200) << ready.out;
  EXPECT_EQ(json::parse(body_of(ready))["upstream_ok"], true);
  // The allow list still applies to everything forwarded.
  EXPECT_EQ(status_of(get(*gateway, "/v1/models")), 403);
}

TEST_F(HealthTest, ReadyzReports503WhenUpstreamDown) {
  std::string url;
  {
    FakeUpstream gone;
    url = gone.url();
  }
  auto gateway = start(url);
  EXPECT_EQ(status_of(get(*gateway, "/healthz")), 200);
  auto ready = get(*gateway, "/readyz");
  EXPECT_EQ(status_of(ready), 503);
  auto body = json::parse(body_of(ready));
  EXPECT_EQ(body["upstream_ok"], false);
  EXPECT_NE(body["error"].get<std::string>().find("unreachable"), std::string::npos);
}

TEST_F(HealthTest, HealthEndpointsNeedAClientCertificate) {
  auto gateway = start("echo");
  auto anonymous = curl({"--cacert", pki.ca_cert().string(), gateway->https_url("/healthz")});
  EXPECT_NE(anonymous.exit_code, 0);
  EXPECT_TRUE(anonymous.out.empty());
}

TEST_F(HealthTest, MetricsCountRefusedHandshakeAndProxiedRequest) {
  auto gateway = start("echo");
  std::string before = body_of(get(*gateway, "/metrics"));
  const std::string refused = "sanctum_tls_fail_no_client_cert_total";
  const std::string proxied = "sanctum_proxy_requests_total";
  const std::string by_client =
      "sanctum_requests_total{listener=\"serve\",transport=\"mtls\",client=\"uri-client\","
      "status=\"200\"}";
  ASSERT_GE(sample(before, refused), 0) << before;

  curl({"--cacert", pki.ca_cert().string(), gateway->https_url("/v1/models")});
  EXPECT_EQ(status_of(get(*gateway, "/v1/models", TestPki::kUriClient)), 200);

  std::string after = body_of(get(*gateway, "/metrics"));
  EXPECT_EQ(sample(after, refused) - sample(before, refused), 1);
  EXPECT_EQ(sample(after, proxied) - sample(before, proxied), 1);
  EXPECT_EQ(sample(before, by_client), -1);
  EXPECT_EQ(sample(after, by_client), 1) << after;
  EXPECT_NE(after.find("sanctum_certificate_expiry_timestamp_seconds{kind=\"server\""),
            std::string::npos);
  EXPECT_NE(after.find("kind=\"client\",name=\"uri-client\""), std::string::npos);
}

TEST_F(HealthTest, StatusDocumentListsListenersAndReload) {
  auto gateway = start("echo");
  auto status = get(*gateway, "/sanctum/status");
  ASSERT_EQ(status_of(status), 200);
  auto doc = json::parse(body_of(status));
  EXPECT_EQ(doc["listeners"][0]["name"], "serve");
  EXPECT_EQ(doc["listeners"][0]["port"], gateway->port());
  EXPECT_EQ(doc["last_reload"]["ok"], true);
  EXPECT_EQ(doc["last_reload"]["trigger"], "start");
  EXPECT_EQ(doc["certificates"][0]["kind"], "server");
  EXPECT_TRUE(doc["counters"].contains("tls.handshake_ok"));
}

}  // namespace
}  // namespace sanctum::test
