#include <gtest/gtest.h>

#include "client/url.hpp"

namespace sanctum::client {
namespace {

TEST(HttpsUrl, ParsesIpv4WithPort) {
  auto url = parse_https_url("https://127.0.0.1:1337");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 1337);
  EXPECT_TRUE(url->host_is_ip);
  EXPECT_EQ(url->base_path, "");
  EXPECT_EQ(url->authority(), "127.0.0.1:1337");
}

TEST(HttpsUrl, ParsesBracketedIpv6) {
  auto url = parse_https_url("https://[::1]:8443/");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 8443);
  EXPECT_TRUE(url->host_is_ip);
  EXPECT_EQ(url->authority(), "[::1]:8443");
}

TEST(HttpsUrl, ParsesDnsNameWithPrefix) {
  auto url = parse_https_url("HTTPS://model.internal/api/");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->host, "model.internal");
  EXPECT_EQ(url->port, 443);
  EXPECT_FALSE(url->host_is_ip);
  EXPECT_EQ(url->base_path, "/api");
}

TEST(HttpsUrl, RejectsPlainHttp) {
  auto url = parse_https_url("http://127.0.0.1:1337");
  ASSERT_FALSE(url);
  EXPECT_NE(url.error().message.find("mTLS"), std::string::npos) << url.error().message;
}

TEST(HttpsUrl, RejectsMalformedUrls) {
  for (const char* text :
       {"127.0.0.1:1337", "ftp://host", "https://", "https://host:0", "https://host:70000",
        "https://host:12a", "https://user@host", "https://host/path?x=1", "https://[::1",
        "https://[::1]x", "https://bad_host!", "https://[1.2.3]:1"}) {
    EXPECT_FALSE(parse_https_url(text)) << text;
  }
}

}  // namespace
}  // namespace sanctum::client
