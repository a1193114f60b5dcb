#include <gtest/gtest.h>

#include "client/sse.hpp"

namespace sanctum::client {
namespace {

using Events = std::vector<std::string>;

TEST(SseParser, ReturnsDataOfCompleteEvents) {
  SseParser parser;
  EXPECT_EQ(parser.feed("data: one\n\ndata: two\n\n"), (Events{"one", "two"}));
}

TEST(SseParser, JoinsEventSplitAcrossPieces) {
  SseParser parser;
  EXPECT_TRUE(parser.feed("da").empty());
  EXPECT_TRUE(parser.feed("ta: hel").empty());
  EXPECT_TRUE(parser.feed("lo\r").empty());
  EXPECT_TRUE(parser.feed("\n").empty());
  EXPECT_EQ(parser.feed("\r\n"), (Events{"hello"}));
}

TEST(SseParser, SkipsCommentsAndOtherFields) {
  SseParser parser;
  EXPECT_EQ(parser.feed(": keepalive\n\nevent: x\nid: 3\n\ndata:[DONE]\n\n"),
            (Events{"[DONE]"}));
}

TEST(SseParser, JoinsMultipleDataLines) {
  SseParser parser;
  EXPECT_EQ(parser.feed("data: a\ndata: b\r\rdata\n\n"), (Events{"a\nb", ""}));
}

TEST(SseParser, HoldsEventWithoutBlankLine) {
  SseParser parser;
  EXPECT_TRUE(parser.feed("data: partial\n").empty());
}

}  // namespace
}  // namespace sanctum::client
