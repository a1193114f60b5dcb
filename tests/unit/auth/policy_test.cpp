#include "auth/policy.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sanctum::auth {
namespace {

constexpr std::size_t kSha256Bytes = 32;

struct CompareCase {
  const char* name;
  std::string a;
  std::string b;
  bool equal;
};

// Names the case in test output instead of its bytes.
void PrintTo(const CompareCase& c, std::ostream* out) { *out << c.name; }

class ConstantTimeEqual : public ::testing::TestWithParam<CompareCase> {};

TEST_P(ConstantTimeEqual, ExaminesEveryDigestByte) {
  std::size_t compared = 0;
  EXPECT_EQ(constant_time_equal(GetParam().a, GetParam().b, &compared), GetParam().equal);
  EXPECT_EQ(compared, kSha256Bytes);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, ConstantTimeEqual,
    ::testing::Values(CompareCase{"Equal", "secret-token", "secret-token", true},
                      CompareCase{"DifferFirstByte", "xecret-token", "secret-token", false},
                      CompareCase{"DifferLastByte", "secret-tokex", "secret-token", false},
                      CompareCase{"Prefix", "secret", "secret-token", false},
                      CompareCase{"BothEmpty", "", "", true},
                      CompareCase{"OneEmpty", "", "secret-token", false},
                      CompareCase{"Long", std::string(4096, 'a'), std::string(4096, 'a'), true},
                      CompareCase{"LongDifferEnd", std::string(4095, 'a') + "b",
                                  std::string(4096, 'a'), false},
                      CompareCase{"EmbeddedNul", std::string("to\0ken", 6), "to", false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ConstantTimeEqualCount, OptionalCounterMayBeNull) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
}

// One row of the decision table.
struct DecideCase {
  const char* name;
  config::AuthMode mode;
  bool loopback_bypass;
  bool peer_is_loopback;
  const char* authorization;
  const char* origin;
  const char* host;
  bool has_identity;
  std::vector<std::string> allow;
  bool allowed;
  unsigned status;
  const char* transport;
  const char* code;
};

// Names the case in test output instead of its bytes.
void PrintTo(const DecideCase& c, std::ostream* out) { *out << c.name; }

class Decide : public ::testing::TestWithParam<DecideCase> {};

TEST_P(Decide, MatchesTable) {
  const auto& row = GetParam();
  tls::PeerIdentity identity;
  identity.common_name = "guardian";
  identity.dns_names = {"guardian.internal"};
  identity.uris = {"spiffe://sanctum/guardian"};

  Policy policy;
  policy.mode = row.mode;
  policy.allow = &row.allow;
  policy.loopback_bypass = row.loopback_bypass;
  policy.token = "the-token";

  RequestFacts facts;
  facts.identity = row.has_identity ? &identity : nullptr;
  facts.peer_is_loopback = row.peer_is_loopback;
  facts.authorization = row.authorization;
  facts.origin = row.origin;
  facts.host = row.host;

  Decision decision = decide(policy, facts);
  EXPECT_EQ(decision.allowed, row.allowed);
  EXPECT_EQ(decision.status, row.status);
  EXPECT_EQ(decision.transport, row.transport);
  EXPECT_EQ(decision.code, row.code);
  if (!decision.allowed) {
    EXPECT_FALSE(decision.reason.empty());
    EXPECT_EQ(decision.reason.find("the-token"), std::string::npos);
  }
}

using config::AuthMode;

INSTANTIATE_TEST_SUITE_P(
    Table, Decide,
    ::testing::Values(
        // Bearer token checks.
        DecideCase{"BearerCorrect", AuthMode::bearer, false, false, "Bearer the-token", "",
                   "10.0.0.1", false, {}, true, 0, "plain-bearer", ""},
        DecideCase{"BearerSchemeCaseInsensitive", AuthMode::bearer, false, false,
                   "bearer the-token", "", "", false, {}, true, 0, "plain-bearer", ""},
        DecideCase{"BearerWrong", AuthMode::bearer, false, false, "Bearer other", "", "", false,
                   {}, false, 401, "plain-bearer", "invalid_api_key"},
        DecideCase{"BearerTokenPrefix", AuthMode::bearer, false, false, "Bearer the-tok", "", "",
                   false, {}, false, 401, "plain-bearer", "invalid_api_key"},
        DecideCase{"BearerWrongScheme", AuthMode::bearer, false, false, "Basic the-token", "", "",
                   false, {}, false, 401, "plain-bearer", "invalid_api_key"},
        DecideCase{"BearerSchemeOnly", AuthMode::bearer, false, false, "Bearer ", "", "", false,
                   {}, false, 401, "plain-bearer", "invalid_api_key"},
        DecideCase{"BearerMissing", AuthMode::bearer, false, false, "", "", "", false, {}, false,
                   401, "plain-bearer", "missing_api_key"},
        // The loopback bypass and its guards.
        DecideCase{"BypassLoopback", AuthMode::bearer, true, true, "", "", "127.0.0.1:1337",
                   false, {}, true, 0, "plain-loopback", ""},
        DecideCase{"BypassLocalhostName", AuthMode::bearer, true, true, "", "", "localhost",
                   false, {}, true, 0, "plain-loopback", ""},
        DecideCase{"BypassIpv6Host", AuthMode::bearer, true, true, "", "", "[::1]:1337", false,
                   {}, true, 0, "plain-loopback", ""},
        DecideCase{"BypassOffWhenDisabled", AuthMode::bearer, false, true, "", "", "127.0.0.1",
                   false, {}, false, 401, "plain-bearer", "missing_api_key"},
        DecideCase{"BypassNotForRemotePeer", AuthMode::bearer, true, false, "", "", "127.0.0.1",
                   false, {}, false, 401, "plain-bearer", "missing_api_key"},
        DecideCase{"BypassWithOrigin", AuthMode::bearer, true, true, "", "http://evil.example",
                   "127.0.0.1", false, {}, false, 403, "plain-loopback", "origin_not_allowed"},
        DecideCase{"BypassWithForeignHost", AuthMode::bearer, true, true, "", "", "evil.example",
                   false, {}, false, 403, "plain-loopback", "host_not_allowed"},
        DecideCase{"BypassWithoutHost", AuthMode::bearer, true, true, "", "", "", false, {},
                   false, 403, "plain-loopback", "host_not_allowed"},
        DecideCase{"BypassWrongTokenStillRefused", AuthMode::bearer, true, true, "Bearer other",
                   "", "127.0.0.1", false, {}, false, 401, "plain-bearer", "invalid_api_key"},
        DecideCase{"BypassTokenWithOriginPasses", AuthMode::bearer, true, true,
                   "Bearer the-token", "http://app.example", "evil.example", false, {}, true, 0,
                   "plain-bearer", ""},
        // mTLS allow-lists.
        DecideCase{"MtlsNoIdentity", AuthMode::mtls, false, true, "", "", "", false, {}, false,
                   403, "mtls", "client_certificate_required"},
        DecideCase{"MtlsEmptyAllowList", AuthMode::mtls, false, false, "", "", "", true, {}, true,
                   0, "mtls", ""},
        DecideCase{"MtlsAllowByCn", AuthMode::mtls, false, false, "", "", "", true, {"guardian"},
                   true, 0, "mtls", ""},
        DecideCase{"MtlsAllowByDns", AuthMode::mtls, false, false, "", "", "", true,
                   {"guardian.internal"}, true, 0, "mtls", ""},
        DecideCase{"MtlsAllowByUri", AuthMode::mtls, false, false, "", "", "", true,
                   {"spiffe://sanctum/guardian"}, true, 0, "mtls", ""},
        DecideCase{"MtlsNotListed", AuthMode::mtls, false, false, "", "", "", true, {"canary"},
                   false, 403, "mtls", "client_not_allowed"},
        DecideCase{"MtlsBearerIgnored", AuthMode::mtls, false, false, "Bearer the-token", "", "",
                   false, {}, false, 403, "mtls", "client_certificate_required"},
        // Open listeners.
        DecideCase{"OpenPasses", AuthMode::none, false, false, "", "http://x", "evil.example",
                   false, {}, true, 0, "plain-open", ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(LocalHostHeader, AcceptsOnlyLoopbackNames) {
  for (const char* host : {"localhost", "LOCALHOST:8080", "localhost.", "127.0.0.1",
                           "127.1.2.3:80", "[::1]", "[::1]:1337", "::1"}) {
    EXPECT_TRUE(is_local_host_header(host)) << host;
  }
  for (const char* host : {"", "evil.example", "localhost.evil.example", "192.0.2.1", "[::2]",
                           "[::1", "0.0.0.0", "127.0.0.1.nip.io"}) {
    EXPECT_FALSE(is_local_host_header(host)) << host;
  }
}

}  // namespace
}  // namespace sanctum::auth
