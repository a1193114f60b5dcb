// Checks of `sanctum verify` that need no network: the mTLS check with a
// fake client, probe logs and the token state.

#include "ops/verify.hpp"

#include <gtest/gtest.h>

#include "ops/token.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::ops {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::TempDir;
using test::write_text;

class VerifyChecks : public ::testing::Test {
 protected:
  TempDir dir;
  VerifyOptions options;

  void SetUp() override {
    options.now = *parse_timestamp("2026-04-22T10:00:00Z");
    options.cert_dir = dir / "certs";
    options.client = "sanctum-server";
    options.token_file = dir / "secrets" / "gateway.token";
    fs::create_directories(dir / "certs" / "clients");
    write_text(dir / "certs" / "ca.crt", "ca");
    write_text(dir / "certs" / "clients" / "sanctum-server.crt", "cert");
    write_text(dir / "certs" / "clients" / "sanctum-server.key", "key", 0600);
  }

  fs::path probe_log(const std::string& name, const std::string& lines) {
    auto path = dir / name;
    write_text(path, lines);
    return path;
  }
};

MtlsGet fake_get(unsigned status, std::string body, MtlsRequest* seen = nullptr) {
  return [=](const MtlsRequest& request) -> Result<MtlsResponse> {
    if (seen != nullptr) {
      *seen = request;
    }
    return MtlsResponse{status, body, "TLSv1.3", "ab12"};
  };
}

std::string evidence(const CheckResult& result, const std::string& key) {
  for (const auto& [k, v] : result.evidence) {
    if (k == key) {
      return v;
    }
  }
  return "";
}

TEST_F(VerifyChecks, MtlsPassesOnModelList) {
  MtlsRequest seen;
  auto result = check_mtls_serves(
      options, fake_get(200, R"({"object":"list","data":[{"id":"qwen"}]})", &seen));
  EXPECT_EQ(result.status, CheckStatus::pass) << result.summary;
  EXPECT_EQ(evidence(result, "tls_version"), "TLSv1.3");
  EXPECT_EQ(evidence(result, "server_sha256"), "ab12");
  EXPECT_EQ(evidence(result, "models"), "qwen");
  EXPECT_EQ(seen.cert_file, dir / "certs" / "clients" / "sanctum-server.crt");
  EXPECT_EQ(seen.ca_file, dir / "certs" / "ca.crt");
  EXPECT_EQ(seen.port, 1337);
}

TEST_F(VerifyChecks, MtlsFailsOnNon200) {
  auto result = check_mtls_serves(options, fake_get(403, "{}"));
  EXPECT_EQ(result.status, CheckStatus::fail);
  EXPECT_NE(result.summary.find("403"), std::string::npos);
}

TEST_F(VerifyChecks, MtlsFailsWithoutModelList) {
  auto result = check_mtls_serves(options, fake_get(200, "<html>"));
  EXPECT_EQ(result.status, CheckStatus::fail);
}

TEST_F(VerifyChecks, MtlsFailsOnClientError) {
  MtlsGet failing = [](const MtlsRequest&) -> Result<MtlsResponse> {
    return make_error("TLS handshake with 127.0.0.1:1337 failed: unknown ca");
  };
  auto result = check_mtls_serves(options, failing);
  EXPECT_EQ(result.status, CheckStatus::fail);
  EXPECT_NE(result.summary.find("unknown ca"), std::string::npos);
}

TEST_F(VerifyChecks, MissingClientKeyFailsWithoutRequest) {
  fs::remove(dir / "certs" / "clients" / "sanctum-server.key");
  bool called = false;
  MtlsGet spy = [&](const MtlsRequest&) -> Result<MtlsResponse> {
    called = true;
    return MtlsResponse{200, "{\"data\":[]}", "TLSv1.3", ""};
  };
  auto result = check_mtls_serves(options, spy);
  EXPECT_EQ(result.status, CheckStatus::fail);
  EXPECT_FALSE(called);
  EXPECT_NE(result.summary.find("sanctum-server.key is missing"), std::string::npos)
      << result.summary;
}

TEST_F(VerifyChecks, MissingCaNamesFileAndInit) {
  fs::remove(dir / "certs" / "ca.crt");
  auto result = check_mtls_serves(options, fake_get(200, "{\"data\":[]}"));
  EXPECT_EQ(result.status, CheckStatus::fail);
  EXPECT_NE(result.summary.find((dir / "certs" / "ca.crt").string() + " is missing"),
            std::string::npos)
      << result.summary;
  EXPECT_NE(result.summary.find("sanctum ca init"), std::string::npos) << result.summary;
}

TEST_F(VerifyChecks, ProbeLogPassesWhenRecentMtls) {
  auto log = probe_log("guardian.log",
                       "{\"time\":\"2026-04-22T09:00:00Z\",\"transport\":\"plain-loopback\"}\n"
                       "{\"time\":\"2026-04-22T09:55:00Z\",\"transport\":\"mtls\"}\n\n");
  auto result = check_probe_log(options, log);
  EXPECT_EQ(result.status, CheckStatus::pass) << result.summary;
  EXPECT_EQ(evidence(result, "age"), "5m");
}

TEST_F(VerifyChecks, ProbeLogWarnsOnFailedRun) {
  auto log = probe_log("guardian.jsonl",
                       "{\"time\":\"2026-04-22T09:58:00.250Z\",\"transport\":\"mtls\","
                       "\"ok\":false,\"error\":\"http-status 502\"}\n");
  auto result = check_probe_log(options, log);
  EXPECT_EQ(result.status, CheckStatus::warn);
  EXPECT_NE(result.summary.find("http-status 502"), std::string::npos) << result.summary;
}

TEST_F(VerifyChecks, ProbeLogFailsOnPlainTransport) {
  auto log = probe_log("canary.log",
                       "{\"time\":\"2026-04-22T09:59:00Z\",\"transport\":\"plain-loopback\"}\n");
  auto result = check_probe_log(options, log);
  EXPECT_EQ(result.status, CheckStatus::fail);
  EXPECT_NE(result.summary.find("plain-loopback"), std::string::npos);
}

TEST_F(VerifyChecks, ProbeLogFailsWhenStale) {
  auto log = probe_log("canary.log", "{\"time\":\"2026-04-22T09:00:00Z\",\"transport\":\"mtls\"}\n");
  auto result = check_probe_log(options, log);
  EXPECT_EQ(result.status, CheckStatus::fail);
  EXPECT_NE(result.summary.find("1h old"), std::string::npos) << result.summary;
}

TEST_F(VerifyChecks, ProbeLogFailsOnUnusableFile) {
  EXPECT_EQ(check_probe_log(options, dir / "absent.log").status, CheckStatus::fail);
  EXPECT_EQ(check_probe_log(options, probe_log("empty.log", "\n")).status, CheckStatus::fail);
  EXPECT_EQ(check_probe_log(options, probe_log("text.log", "ok mtls\n")).status, CheckStatus::fail);
  EXPECT_EQ(check_probe_log(options, probe_log("notime.log", "{\"transport\":\"mtls\"}\n")).status,
            CheckStatus::fail);
}

TEST_F(VerifyChecks, BearerLiveFails) {
  ASSERT_TRUE(create_token(options.token_file, false).ok());
  auto result = check_bearer_retired(options);
  EXPECT_EQ(result.status, CheckStatus::fail);
  EXPECT_NE(result.summary.find("bearer auth is live"), std::string::npos);
}

TEST_F(VerifyChecks, BearerRetiredWithOpenWindowPasses) {
  ASSERT_TRUE(create_token(options.token_file, false).ok());
  ASSERT_TRUE(retire_token(options.token_file, options.now - 24h).ok());
  auto result = check_bearer_retired(options);
  EXPECT_EQ(result.status, CheckStatus::pass) << result.summary;
  EXPECT_NE(result.summary.find("open until 2026-04-28 10:00 UTC"), std::string::npos)
      << result.summary;
}

TEST_F(VerifyChecks, BearerWindowClosedWarnsPurgeDue) {
  ASSERT_TRUE(create_token(options.token_file, false).ok());
  ASSERT_TRUE(retire_token(options.token_file, options.now - std::chrono::days(8)).ok());
  auto result = check_bearer_retired(options);
  EXPECT_EQ(result.status, CheckStatus::warn);
  EXPECT_NE(result.summary.find("purge due"), std::string::npos);
}

TEST_F(VerifyChecks, BearerPurgedPasses) {
  auto result = check_bearer_retired(options);
  EXPECT_EQ(result.status, CheckStatus::pass);
}

TEST(VerifyJson, RepeatedEvidenceBecomesArray) {
  CheckResult result;
  result.id = "old-port-closed";
  result.status = CheckStatus::fail;
  result.evidence = {{"listener", "a"}, {"listener", "b"}, {"connect", "c"}};
  auto json = to_json({result});
  EXPECT_EQ(json["passed"], false);
  EXPECT_EQ(json["checks"][0]["status"], "FAIL");
  EXPECT_EQ(json["checks"][0]["evidence"]["listener"], nlohmann::json::array({"a", "b"}));
  EXPECT_EQ(json["checks"][0]["evidence"]["connect"], "c");
}

}  // namespace
}  // namespace sanctum::ops
