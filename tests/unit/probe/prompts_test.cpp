#include <gtest/gtest.h>

#include "probe/prompts.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::probe {
namespace {

using test::TempDir;
using test::write_text;

TEST(LoadPrompts, ReadsTextAndJsonLines) {
  TempDir dir;
  write_text(dir / "prompts.txt",
             "# a comment\n"
             "What is 2 + 2?\r\n"
             "\n"
             "{\"id\": \"greeting\", \"prompt\": \"Say hello\"}\n"
             "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief\"}, "
             "{\"role\": \"user\", \"content\": \"Name a colour\"}]}\n");
  auto prompts = load_prompts(dir / "prompts.txt");
  ASSERT_TRUE(prompts) << prompts.error().message;
  ASSERT_EQ(prompts->size(), 3u);
  EXPECT_EQ((*prompts)[0].text, "What is 2 + 2?");
  EXPECT_EQ((*prompts)[0].line, 2);
  EXPECT_EQ((*prompts)[0].id, "line 2");
  EXPECT_EQ((*prompts)[1].id, "greeting");
  EXPECT_EQ((*prompts)[1].messages[0]["content"], "Say hello");
  EXPECT_EQ((*prompts)[2].messages.size(), 2u);
  EXPECT_EQ((*prompts)[2].text, "Name a colour");
}

TEST(LoadPrompts, ErrorNamesFileAndLine) {
  TempDir dir;
  write_text(dir / "bad.txt", "fine\n{\"prompt\": 3}\n");
  auto prompts = load_prompts(dir / "bad.txt");
  ASSERT_FALSE(prompts);
  EXPECT_NE(prompts.error().message.find((dir / "bad.txt").string() + ":2:"), std::string::npos)
      << prompts.error().message;
}

TEST(LoadPrompts, RejectsEmptyAndMissingFiles) {
  TempDir dir;
  write_text(dir / "empty.txt", "# only a comment\n\n");
  EXPECT_FALSE(load_prompts(dir / "empty.txt"));
  auto missing = load_prompts(dir / "missing.txt");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing.txt"), std::string::npos);
}

}  // namespace
}  // namespace sanctum::probe
