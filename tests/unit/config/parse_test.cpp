#include <gtest/gtest.h>

#include "config/config.hpp"

namespace sanctum::config {
namespace {

TEST(BindAddress, ParsesIpv4AndIpv6) {
  auto v4 = parse_bind_address("127.0.0.1:1337");
  ASSERT_TRUE(v4.ok()) << v4.error().message;
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 1337);

  auto v6 = parse_bind_address("[::1]:8443");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8443);
  EXPECT_EQ(to_string(*v6), "[::1]:8443");
}

TEST(BindAddress, RejectsMissingPortAndHostName) {
  EXPECT_FALSE(parse_bind_address("127.0.0.1").ok());
  EXPECT_FALSE(parse_bind_address("127.0.0.1:99999").ok());
  auto named = parse_bind_address("example.test:80");
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.error().message.find("not an IP address"), std::string::npos);
}

TEST(Upstream, ParsesHttpUrlWithPrefix) {
  auto target = parse_upstream("http://127.0.0.1:8080/api/");
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->host, "127.0.0.1");
  EXPECT_EQ(target->port, 8080);
  EXPECT_EQ(target->base_path, "/api");
  EXPECT_FALSE(target->echo);
}

TEST(Upstream, RejectsHttpsAndGarbage) {
  auto https = parse_upstream("https://127.0.0.1:8080");
  ASSERT_FALSE(https.ok());
  EXPECT_NE(https.error().message.find("https upstreams are not supported"), std::string::npos);
  EXPECT_FALSE(parse_upstream("127.0.0.1:8080").ok());
  EXPECT_TRUE(parse_upstream("echo")->echo);
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parse_duration("250ms")->count(), 250);
  EXPECT_EQ(parse_duration("10s")->count(), 10'000);
  EXPECT_EQ(parse_duration("5m")->count(), 300'000);
  EXPECT_FALSE(parse_duration("10").ok());
  EXPECT_FALSE(parse_duration("-1s").ok());
  EXPECT_FALSE(parse_duration("ten seconds").ok());
}

TEST(Duration, RejectsValueThatOverflows) {
  auto huge = parse_duration("9223372036854775807h");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("too large"), std::string::npos) << huge.error().message;
}

TEST(Size, ParsesBinaryUnits) {
  EXPECT_EQ(*parse_size("512B"), 512u);
  EXPECT_EQ(*parse_size("64KiB"), 64u * 1024);
  EXPECT_EQ(*parse_size("32MiB"), 32u * 1024 * 1024);
  EXPECT_EQ(*parse_size("2GiB"), 2ull * 1024 * 1024 * 1024);
}

TEST(Size, RejectsMissingOrDecimalUnit) {
  EXPECT_FALSE(parse_size("").ok());
  EXPECT_FALSE(parse_size("65536").ok());
  EXPECT_FALSE(parse_size("-1KiB").ok());
  EXPECT_FALSE(parse_size("KiB").ok());
  auto decimal = parse_size("32MB");
  ASSERT_FALSE(decimal.ok());
  EXPECT_NE(decimal.error().message.find("unit must be B, KiB, MiB or GiB"), std::string::npos)
      << decimal.error().message;
}

TEST(Size, RejectsValueThatOverflows) {
  auto huge = parse_size("18446744073709551615GiB");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("too large"), std::string::npos) << huge.error().message;
}

}  // namespace
}  // namespace sanctum::config
