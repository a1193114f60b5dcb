#include <gtest/gtest.h>

#include "ca/ca.hpp"

namespace sanctum::ca {
namespace {

TEST(CertificateName, AcceptsFileSafeNames) {
  for (const char* name : {"laptop", "gpu-box.local", "a_b", "10.0.0.7", "X"}) {
    EXPECT_TRUE(validate_name(name).ok()) << name;
  }
}

TEST(CertificateName, RejectsUnsafeNames) {
  for (const char* name : {"", "a/b", "..", ".hidden", "-flag", "with space", "laptop.prev",
                           "naïve"}) {
    auto result = validate_name(name);
    ASSERT_FALSE(result.ok()) << name;
    EXPECT_NE(result.error().message.find("invalid certificate name"), std::string::npos);
  }
  EXPECT_FALSE(validate_name(std::string(65, 'a')).ok());
  EXPECT_TRUE(validate_name(std::string(64, 'a')).ok());
}

TEST(SubjectAltName, NormalisesAcceptedForms) {
  EXPECT_EQ(*normalize_san("DNS:example.test"), "DNS:example.test");
  EXPECT_EQ(*normalize_san("DNS:*.example.test"), "DNS:*.example.test");
  EXPECT_EQ(*normalize_san("IP:127.0.0.1"), "IP:127.0.0.1");
  EXPECT_EQ(*normalize_san("IP:0:0:0:0:0:0:0:1"), "IP:::1");
  EXPECT_EQ(*normalize_san("URI:spiffe://home/laptop"), "URI:spiffe://home/laptop");
}

TEST(SubjectAltName, RejectsMalformedValues) {
  for (const char* text : {"example.test", "dns:example.test", "DNS:", "DNS:-bad.test",
                           "DNS:a..b", "DNS:a.*.b", "IP:[::1]", "IP:1.2.3", "URI:no-scheme",
                           "URI:has space:x", "EMAIL:a@b"}) {
    auto result = normalize_san(text);
    ASSERT_FALSE(result.ok()) << text;
    EXPECT_NE(result.error().message.find(text), std::string::npos) << result.error().message;
  }
}

TEST(KeyType, ParsesAndPrintsNames) {
  for (KeyType type : {KeyType::ecdsa_p256, KeyType::ed25519, KeyType::rsa_3072}) {
    EXPECT_EQ(*parse_key_type(to_string(type)), type);
  }
  auto unknown = parse_key_type("ed448");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message,
            "unknown key type 'ed448': use ecdsa-p256, ed25519 or rsa-3072");
}

TEST(RevocationReason, ParsesRfcNames) {
  EXPECT_EQ(*parse_revocation_reason("keyCompromise"), RevocationReason::key_compromise);
  EXPECT_EQ(*parse_revocation_reason("cessationOfOperation"),
            RevocationReason::cessation_of_operation);
  auto unknown = parse_revocation_reason("lost");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("superseded"), std::string::npos);
}

TEST(Dates, ParsesEndOfDayInUtc) {
  auto end = parse_end_of_day("2030-02-28");
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ(format_time(*end), "2030-02-28T23:59:59Z");
  EXPECT_FALSE(parse_end_of_day("2030-02-30").ok());
  EXPECT_FALSE(parse_end_of_day("2030-2-1").ok());
  EXPECT_FALSE(parse_end_of_day("tomorrow").ok());
}

TEST(Dates, TimeRoundTripsThroughText) {
  auto time = parse_time("2031-07-04T12:34:56Z");
  ASSERT_TRUE(time.ok()) << time.error().message;
  EXPECT_EQ(format_time(*time), "2031-07-04T12:34:56Z");
  EXPECT_FALSE(parse_time("2031-07-04 12:34:56").ok());
}

TEST(StateDir, FlagThenEnvironmentThenHome) {
  EXPECT_EQ(resolve_state_dir(std::filesystem::path("/x/y")).ca_cert, "/x/y/ca.crt");
  ::setenv("SANCTUM_HOME", "/from/env", 1);
  EXPECT_EQ(resolve_state_dir(std::nullopt).dir, "/from/env");
  ::setenv("SANCTUM_HOME", "", 1);
  const char* home = std::getenv("HOME");
  std::string saved_home = home != nullptr ? home : "";
  ::setenv("HOME", "/home/tester", 1);
  EXPECT_EQ(resolve_state_dir(std::nullopt).dir, "/home/tester/.sanctum/certs");
  ::setenv("HOME", saved_home.c_str(), 1);
  ::unsetenv("SANCTUM_HOME");
}

TEST(StateDir, LayoutRuleForRoles) {
  CaPaths paths = paths_for("/s");
  EXPECT_EQ(paths.cert_file(Role::server, "server"), "/s/server.crt");
  EXPECT_EQ(paths.key_file(Role::server, "server"), "/s/server.key");
  EXPECT_EQ(paths.cert_file(Role::server, "gpu"), "/s/servers/gpu.crt");
  EXPECT_EQ(paths.cert_file(Role::client, "server"), "/s/clients/server.crt");
  EXPECT_EQ(paths.previous_cert_file(Role::client, "laptop"), "/s/clients/laptop.prev.crt");
  EXPECT_EQ(paths.previous_key_file(Role::server, "server"), "/s/server.prev.key");
}

}  // namespace
}  // namespace sanctum::ca
