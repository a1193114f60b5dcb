#include <gtest/gtest.h>

#include "auth/token_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::auth {
namespace {

TEST(TokenFile, MissingFileNamesRetiredCopy) {
  test::TempDir dir;
  test::write_text(dir / "gateway.token.retired-20260422", "secret\n", 0600);
  test::write_text(dir / "gateway.token.retired-20260422.window", "{}", 0600);
  auto token = read_token_file(dir / "gateway.token");
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.error().message.find("gateway.token.retired-20260422 exists"),
            std::string::npos)
      << token.error().message;
  EXPECT_NE(token.error().message.find("sanctum token restore"), std::string::npos);
  EXPECT_EQ(token.error().message.find("secret"), std::string::npos);
}

TEST(TokenFile, MissingFileWithoutCopySuggestsCreate) {
  test::TempDir dir;
  auto token = read_token_file(dir / "gateway.token");
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.error().message.find("sanctum token create"), std::string::npos)
      << token.error().message;
}

TEST(TokenFile, GroupReadableRejected) {
  test::TempDir dir;
  test::write_text(dir / "gateway.token", "secret\n", 0640);
  auto token = read_token_file(dir / "gateway.token");
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.error().message.find("chmod 600"), std::string::npos);
  EXPECT_EQ(token.error().message.find("secret"), std::string::npos);
}

TEST(TokenFile, TrimsWhitespace) {
  test::TempDir dir;
  test::write_text(dir / "gateway.token", "  abc123 \n", 0600);
  auto token = read_token_file(dir / "gateway.token");
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(*token, "abc123");
}

}  // namespace
}  // namespace sanctum::auth
