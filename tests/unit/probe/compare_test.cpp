#include <gtest/gtest.h>

#include "probe/compare.hpp"

namespace sanctum::probe {
namespace {

TEST(CompareMode, ParsesEveryForm) {
  auto exact = parse_compare_mode("exact");
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->kind, CompareMode::Kind::exact);
  auto normalized = parse_compare_mode("normalized");
  ASSERT_TRUE(normalized);
  EXPECT_EQ(normalized->kind, CompareMode::Kind::normalized);
  auto similarity = parse_compare_mode("similarity:0.9");
  ASSERT_TRUE(similarity);
  EXPECT_EQ(similarity->kind, CompareMode::Kind::similarity);
  EXPECT_DOUBLE_EQ(similarity->threshold, 0.9);
  EXPECT_EQ(to_string(*similarity), "similarity:0.9");
}

TEST(CompareMode, RejectsBadThresholds) {
  for (const char* text : {"similarity:", "similarity:0", "similarity:1.5", "similarity:x",
                           "similarity:-0.2", "fuzzy", ""}) {
    EXPECT_FALSE(parse_compare_mode(text)) << text;
  }
}

TEST(NormalizeText, FoldsCaseAndWhitespace) {
  EXPECT_EQ(normalize_text("  Hello\t\tWORLD \n again  "), "hello world again");
  EXPECT_EQ(normalize_text(""), "");
  EXPECT_EQ(normalize_text("Ünïcode Stays"), "Ünïcode stays");
}

TEST(TokenSimilarity, CountsCommonWords) {
  EXPECT_DOUBLE_EQ(token_similarity("a b c d", "a b c d"), 1.0);
  EXPECT_DOUBLE_EQ(token_similarity("", ""), 1.0);
  EXPECT_DOUBLE_EQ(token_similarity("a b", ""), 0.0);
  EXPECT_DOUBLE_EQ(token_similarity("x y", "a b"), 0.0);
  // LCS "a c d" of 4 + 4 words: 2 * 3 / 8.
  EXPECT_DOUBLE_EQ(token_similarity("a b c d", "a c d e"), 0.75);
  EXPECT_DOUBLE_EQ(token_similarity("The  Answer", "the answer"), 1.0);
}

TEST(ShortDiff, PointsAtFirstDifference) {
  EXPECT_EQ(short_diff("same", "same"), "");
  EXPECT_EQ(short_diff("echo: hello", "echo: help!"),
            "first difference at byte 9: \"echo: hello\" vs \"echo: help!\"");
  EXPECT_EQ(short_diff("abc", "abcdef"), "first difference at byte 3: \"abc\" vs \"abcdef\"");
  std::string long_a(100, 'x');
  std::string long_b = long_a;
  long_b[80] = 'y';
  std::string diff = short_diff(long_a, long_b);
  EXPECT_NE(diff.find("at byte 80"), std::string::npos) << diff;
  EXPECT_NE(diff.find("\"...x"), std::string::npos) << diff;
}

TEST(CompareAnswers, AppliesEachMode) {
  auto exact = *parse_compare_mode("exact");
  auto normalized = *parse_compare_mode("normalized");
  auto similar = *parse_compare_mode("similarity:0.7");
  EXPECT_TRUE(compare_answers("OK", "OK", exact).match);
  EXPECT_FALSE(compare_answers("OK", "ok ", exact).match);
  EXPECT_TRUE(compare_answers("OK", "ok ", normalized).match);
  EXPECT_FALSE(compare_answers("the cat sat", "the dog sat", normalized).match);
  EXPECT_TRUE(compare_answers("one two three four", "one two three five", similar).match);
  EXPECT_FALSE(compare_answers("one two", "three four", similar).match);
  auto mismatch = compare_answers("Hello there", "hello THERE!", normalized);
  EXPECT_FALSE(mismatch.match);
  EXPECT_EQ(mismatch.diff, "first difference at byte 11: \"hello there\" vs \"hello there!\"");
  EXPECT_TRUE(compare_answers("a", "a", exact).diff.empty());
}

}  // namespace
}  // namespace sanctum::probe
