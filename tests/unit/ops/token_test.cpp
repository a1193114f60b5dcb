#include "ops/token.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::ops {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::read_text;
using test::TempDir;
using test::write_text;

unsigned mode_of(const fs::path& path) {
  struct stat info {};
  ::stat(path.c_str(), &info);
  return info.st_mode & 07777;
}

TimePoint at(const char* date) { return *parse_now(date); }

class TokenLifecycle : public ::testing::Test {
 protected:
  TempDir dir;
  fs::path folder = dir / "secrets";
  fs::path token = folder / "gateway.token";

  void SetUp() override {
    ASSERT_TRUE(create_token(token, false).ok());
  }
};

TEST_F(TokenLifecycle, CreateWritesPrivateRandomToken) {
  EXPECT_EQ(mode_of(token), 0600u);
  EXPECT_EQ(mode_of(folder), 0700u);
  std::string text = read_text(token);
  EXPECT_EQ(text.size(), 65u);
  EXPECT_EQ(text.find_first_not_of("0123456789abcdef\n"), std::string::npos);
  fs::path other = dir / "secrets" / "other.token";
  ASSERT_TRUE(create_token(other, false).ok());
  EXPECT_NE(read_text(other), text);
}

TEST_F(TokenLifecycle, CreateRefusesOverwriteWithoutForce) {
  std::string before = read_text(token);
  auto again = create_token(token, false);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find(token.string()), std::string::npos);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos);
  EXPECT_EQ(read_text(token), before);
  ASSERT_TRUE(create_token(token, true).ok());
  EXPECT_NE(read_text(token), before);
  EXPECT_EQ(mode_of(token), 0600u);
}

TEST_F(TokenLifecycle, StatusShowsLiveToken) {
  auto status = token_status(token);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_TRUE(status->bearer_live);
  EXPECT_EQ(status->token_mode, 0600u);
  EXPECT_EQ(status->folder_mode, 0700u);
  EXPECT_TRUE(status->retired.empty());
  EXPECT_TRUE(status->warnings.empty());
}

TEST_F(TokenLifecycle, RetireRenamesWithLocalDateAndWindow) {
  std::string secret = read_text(token);
  TimePoint now = at("2026-04-22");
  auto retired = retire_token(token, now);
  ASSERT_TRUE(retired.ok()) << retired.error().message;
  EXPECT_FALSE(fs::exists(token));
  EXPECT_EQ(retired->file, folder / "gateway.token.retired-20260422");
  EXPECT_EQ(read_text(retired->file), secret);
  EXPECT_EQ(mode_of(retired->file), 0600u);
  EXPECT_EQ(mode_of(retired->window_file), 0600u);
  EXPECT_EQ(retired->window_closes - now, std::chrono::days(7));

  auto status = token_status(token);
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->bearer_live);
  ASSERT_EQ(status->retired.size(), 1u);
  EXPECT_TRUE(status->retired[0].has_window_record);
  EXPECT_EQ(status->retired[0].window_closes, retired->window_closes);
  EXPECT_TRUE(status->retired[0].window_open(at("2026-04-28")));
  EXPECT_FALSE(status->retired[0].window_open(at("2026-04-30")));
}

TEST_F(TokenLifecycle, RetireHonoursCustomWindow) {
  auto retired = retire_token(token, at("2026-04-22"), std::chrono::hours(48));
  ASSERT_TRUE(retired.ok());
  auto status = token_status(token);
  ASSERT_EQ(status->retired.size(), 1u);
  EXPECT_TRUE(status->retired[0].window_open(at("2026-04-23")));
  EXPECT_FALSE(status->retired[0].window_open(at("2026-04-25")));
}

TEST_F(TokenLifecycle, RetireRefusesWithoutBareToken) {
  ASSERT_TRUE(retire_token(token, at("2026-04-22")).ok());
  auto again = retire_token(token, at("2026-04-22"));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("no bearer token at " + token.string()), std::string::npos);
}

TEST_F(TokenLifecycle, SecondRetireSameDayGetsSuffix) {
  ASSERT_TRUE(retire_token(token, at("2026-04-22")).ok());
  ASSERT_TRUE(create_token(token, false).ok());
  auto second = retire_token(token, at("2026-04-22") + 1h);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->file, folder / "gateway.token.retired-20260422-2");
  auto status = token_status(token);
  ASSERT_EQ(status->retired.size(), 2u);
  EXPECT_EQ(status->retired.back().file, second->file);
}

TEST_F(TokenLifecycle, RestoreMovesNewestBack) {
  std::string first_secret = read_text(token);
  ASSERT_TRUE(retire_token(token, at("2026-04-20")).ok());
  ASSERT_TRUE(create_token(token, false).ok());
  std::string second_secret = read_text(token);
  ASSERT_TRUE(retire_token(token, at("2026-04-22")).ok());

  auto restored = restore_token(token);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(restored->file, folder / "gateway.token.retired-20260422");
  EXPECT_EQ(read_text(token), second_secret);
  EXPECT_EQ(mode_of(token), 0600u);
  EXPECT_FALSE(fs::exists(restored->file));
  EXPECT_FALSE(fs::exists(restored->window_file));
  auto status = token_status(token);
  ASSERT_EQ(status->retired.size(), 1u);
  EXPECT_EQ(read_text(status->retired[0].file), first_secret);
}

TEST_F(TokenLifecycle, RestoreRefusesWhenTokenExists) {
  ASSERT_TRUE(retire_token(token, at("2026-04-22")).ok());
  ASSERT_TRUE(create_token(token, false).ok());
  std::string live = read_text(token);
  auto restored = restore_token(token);
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.error().message.find(token.string() + " exists"), std::string::npos);
  EXPECT_EQ(read_text(token), live);
  EXPECT_TRUE(fs::exists(folder / "gateway.token.retired-20260422"));
}

TEST_F(TokenLifecycle, RestoreRefusesWithNothingRetired) {
  fs::remove(token);
  auto restored = restore_token(token);
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.error().message.find("no retired token"), std::string::npos);
  EXPECT_NE(restored.error().message.find("sanctum token create"), std::string::npos);
}

TEST_F(TokenLifecycle, PurgeRefusesOpenWindowWithoutForce) {
  ASSERT_TRUE(retire_token(token, at("2026-04-22")).ok());
  auto early = purge_tokens(token, at("2026-04-25"), false);
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->deleted.empty());
  ASSERT_EQ(early->kept.size(), 1u);
  EXPECT_TRUE(fs::exists(folder / "gateway.token.retired-20260422"));

  auto forced = purge_tokens(token, at("2026-04-25"), true);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->deleted.size(), 1u);
  EXPECT_FALSE(fs::exists(folder / "gateway.token.retired-20260422"));
  EXPECT_FALSE(fs::exists(folder / "gateway.token.retired-20260422.window"));
}

TEST_F(TokenLifecycle, PurgeDeletesOnlyClosedWindows) {
  ASSERT_TRUE(retire_token(token, at("2026-04-10")).ok());
  ASSERT_TRUE(create_token(token, false).ok());
  ASSERT_TRUE(retire_token(token, at("2026-04-22")).ok());
  auto outcome = purge_tokens(token, at("2026-04-23"), false);
  ASSERT_TRUE(outcome.ok());
  ASSERT_EQ(outcome->deleted.size(), 1u);
  EXPECT_EQ(outcome->deleted[0].file, folder / "gateway.token.retired-20260410");
  ASSERT_EQ(outcome->kept.size(), 1u);
  EXPECT_EQ(outcome->kept[0].file, folder / "gateway.token.retired-20260422");
  EXPECT_FALSE(fs::exists(folder / "gateway.token.retired-20260410.window"));
}

TEST_F(TokenLifecycle, HandRenamedFileGetsDefaultWindow) {
  fs::rename(token, folder / "gateway.token.retired-20260422");
  auto status = token_status(token);
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->retired.size(), 1u);
  EXPECT_FALSE(status->retired[0].has_window_record);
  EXPECT_EQ(status->retired[0].retired_at, *local_midnight(2026, 4, 22));
  EXPECT_EQ(status->retired[0].window_closes, *local_midnight(2026, 4, 22) + std::chrono::days(7));
}

TEST_F(TokenLifecycle, BrokenWindowRecordFallsBackWithWarning) {
  auto retired = retire_token(token, at("2026-04-22"));
  ASSERT_TRUE(retired.ok());
  write_text(retired->window_file, "not json", 0600);
  auto status = token_status(token);
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->retired.size(), 1u);
  EXPECT_FALSE(status->retired[0].has_window_record);
  ASSERT_EQ(status->warnings.size(), 1u);
  EXPECT_NE(status->warnings[0].find(retired->window_file.string()), std::string::npos);
}

TEST_F(TokenLifecycle, StatusWarnsAboutLoosePermissions) {
  fs::permissions(token, static_cast<fs::perms>(0640));
  fs::permissions(folder, static_cast<fs::perms>(0755));
  auto status = token_status(token);
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->warnings.size(), 2u);
  EXPECT_NE(status->warnings[0].find("chmod 600 " + token.string()), std::string::npos);
  EXPECT_NE(status->warnings[1].find("chmod 700 " + folder.string()), std::string::npos);
}

TEST_F(TokenLifecycle, UnrelatedNamesAreIgnored) {
  write_text(folder / "gateway.token.retired-notadate", "x", 0600);
  write_text(folder / "other.token.retired-20260422", "x", 0600);
  auto status = token_status(token);
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->retired.empty());
  ASSERT_EQ(status->warnings.size(), 1u);
  EXPECT_NE(status->warnings[0].find("retired-notadate"), std::string::npos);
}

TEST(TokenPathFromConfig, ReadsFirstBearerListener) {
  TempDir dir;
  auto config = dir / "sanctum.toml";
  write_text(config,
             "[[listener]]\nname = \"open\"\nbind = \"127.0.0.1:0\"\ntls = false\nupstream = "
             "\"echo\"\n[[listener]]\nname = \"bearer\"\nbind = \"127.0.0.1:0\"\ntls = false\n"
             "auth = \"bearer\"\nupstream = \"echo\"\nauth_token_file = \"secrets/a.token\"\n");
  auto path = token_path_from_config(config);
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(*path, dir / "secrets" / "a.token");
}

TEST(TokenPathFromConfig, FailsWithoutBearerListener) {
  TempDir dir;
  auto config = dir / "sanctum.toml";
  write_text(config, "[[listener]]\nname = \"open\"\nbind = \"127.0.0.1:0\"\ntls = false\n"
                     "upstream = \"echo\"\n");
  auto path = token_path_from_config(config);
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.error().message.find("--token-file"), std::string::npos);
}

}  // namespace
}  // namespace sanctum::ops
