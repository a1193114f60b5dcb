#include "ops/time_text.hpp"

#include <gtest/gtest.h>

namespace sanctum::ops {
namespace {

using namespace std::chrono_literals;

TEST(ParseTimestamp, ReadsUtcAndOffsets) {
  auto utc = parse_timestamp("2026-04-22T10:00:00Z");
  ASSERT_TRUE(utc.has_value());
  EXPECT_EQ(format_utc(*utc), "2026-04-22T10:00:00Z");
  auto offset = parse_timestamp("2026-04-22T12:30:00+02:30");
  ASSERT_TRUE(offset.has_value());
  EXPECT_EQ(*offset, *utc);
  auto fraction = parse_timestamp("2026-04-22T10:00:00.250Z");
  ASSERT_TRUE(fraction.has_value());
  EXPECT_EQ(*fraction - *utc, 250ms);
  EXPECT_TRUE(parse_timestamp("2026-04-22 10:00:00Z").has_value());
}

TEST(ParseTimestamp, RejectsMalformedText) {
  for (const char* text : {"", "2026-04-22", "2026-04-22T10:00:00", "2026-02-30T10:00:00Z",
                           "2026-04-22T25:00:00Z", "2026-04-22T10:00:00.Z",
                           "2026-04-22T10:00:00Zjunk", "yesterday"}) {
    EXPECT_FALSE(parse_timestamp(text).has_value()) << text;
  }
}

TEST(ParseNow, AcceptsDateAndTimestamp) {
  auto date = parse_now("2026-04-22");
  ASSERT_TRUE(date.ok());
  EXPECT_EQ(local_date_compact(*date), "20260422");
  auto stamp = parse_now("2026-04-22T10:00:00Z");
  ASSERT_TRUE(stamp.ok());
  EXPECT_EQ(format_utc(*stamp), "2026-04-22T10:00:00Z");
  auto bad = parse_now("22/04/2026");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("YYYY-MM-DD"), std::string::npos);
}

TEST(ParseAge, ReadsUnitsAndRejectsOthers) {
  EXPECT_EQ(*parse_age("90s"), 90s);
  EXPECT_EQ(*parse_age("15m"), 15min);
  EXPECT_EQ(*parse_age("24h"), 24h);
  EXPECT_EQ(*parse_age("7d"), std::chrono::seconds(7 * 86400));
  for (const char* text : {"", "7", "d", "-1d", "7w", "1.5h", "7dd", "99999999999d"}) {
    EXPECT_FALSE(parse_age(text).ok()) << text;
  }
}

TEST(FormatAge, UsesLargestUnits) {
  EXPECT_EQ(format_age(42s), "42s");
  EXPECT_EQ(format_age(15min), "15m");
  EXPECT_EQ(format_age(2h + 5min), "2h 5m");
  EXPECT_EQ(format_age(std::chrono::seconds(3 * 86400 + 4 * 3600)), "3d 4h");
}

}  // namespace
}  // namespace sanctum::ops
