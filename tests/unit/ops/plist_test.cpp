#include <gtest/gtest.h>

#include "ops/plist.hpp"

namespace sanctum::ops {
namespace {

constexpr const char* kAgent = R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>com.sanctum.mlx</string>
  <key>ProgramArguments</key>
  <array>
    <string>/usr/local/bin/sanctum</string>
    <string>a &amp; b</string>
  </array>
  <key>StartInterval</key>
  <integer>600</integer>
  <key>Ratio</key>
  <real>0.5</real>
  <key>RunAtLoad</key>
  <true/>
  <key>Disabled</key>
  <false/>
  <key>Since</key>
  <date>2026-04-22T00:00:00Z</date>
  <key>Blob</key>
  <data>
    c2FuY3R1
    bQ==
  </data>
  <key>Empty</key>
  <dict/>
  <key>Spaces</key>
  <string>  </string>
</dict>
</plist>
)";

TEST(Plist, ParsesEveryType) {
  auto plist = parse_plist(kAgent, "agent.plist");
  ASSERT_TRUE(plist.ok()) << plist.error().message;
  EXPECT_EQ(plist->type, PlistValue::Type::dict);
  EXPECT_EQ(plist->find("Label")->text, "com.sanctum.mlx");
  ASSERT_EQ(plist->find("ProgramArguments")->array.size(), 2u);
  EXPECT_EQ(plist->find("ProgramArguments")->array[1].text, "a & b");
  EXPECT_EQ(plist->find("StartInterval")->integer, 600);
  EXPECT_DOUBLE_EQ(plist->find("Ratio")->real, 0.5);
  EXPECT_TRUE(plist->find("RunAtLoad")->boolean);
  EXPECT_EQ(plist->find("Disabled")->type, PlistValue::Type::boolean);
  EXPECT_FALSE(plist->find("Disabled")->boolean);
  EXPECT_EQ(plist->find("Since")->type, PlistValue::Type::date);
  EXPECT_EQ(plist->find("Blob")->text, "c2FuY3R1bQ==");
  EXPECT_TRUE(plist->find("Empty")->dict.empty());
  EXPECT_EQ(plist->find("Spaces")->text, "  ");
}

TEST(Plist, RecordsElementLines) {
  auto plist = parse_plist(kAgent, "agent.plist");
  ASSERT_TRUE(plist.ok()) << plist.error().message;
  EXPECT_EQ(plist->line, 4);
  EXPECT_EQ(plist->find("Label")->line, 6);
}

TEST(Plist, WriteThenParseKeepsValue) {
  auto plist = parse_plist(kAgent, "agent.plist");
  ASSERT_TRUE(plist.ok()) << plist.error().message;
  std::string written = write_plist(*plist);
  auto again = parse_plist(written, "written.plist");
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << written;
  EXPECT_EQ(write_plist(*again), written);
  EXPECT_NE(written.find("<!DOCTYPE plist PUBLIC"), std::string::npos);
  EXPECT_NE(written.find("<string>a &amp; b</string>"), std::string::npos);
}

TEST(Plist, WritesKeysSorted) {
  PlistValue dict = PlistValue::make_dict();
  dict.set("b", PlistValue::make_integer(2));
  dict.set("a", PlistValue::make_integer(1));
  std::string written = write_plist(dict);
  EXPECT_LT(written.find("<key>a</key>"), written.find("<key>b</key>"));
}

TEST(Plist, ParsesHexAndNegativeIntegers) {
  auto plist = parse_plist(
      "<plist><array><integer>0x10</integer><integer>-3</integer></array></plist>", "x");
  ASSERT_TRUE(plist.ok()) << plist.error().message;
  EXPECT_EQ(plist->array[0].integer, 16);
  EXPECT_EQ(plist->array[1].integer, -3);
}

struct MalformedCase {
  const char* name;
  const char* text;
  const char* message;  // expected part of the error
};

// Names the case in test output instead of its bytes.
void PrintTo(const MalformedCase& c, std::ostream* out) { *out << c.name; }

class PlistMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(PlistMalformed, RejectsWithFileAndLine) {
  const MalformedCase& c = GetParam();
  auto plist = parse_plist(c.text, "bad.plist");
  ASSERT_FALSE(plist.ok());
  EXPECT_NE(plist.error().message.find(c.message), std::string::npos) << plist.error().message;
  EXPECT_EQ(plist.error().message.rfind("bad.plist:", 0), 0u) << plist.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PlistMalformed,
    ::testing::Values(
        MalformedCase{"UnclosedTag", "<plist>\n<dict>\n<key>a</key>\n<string>x\n</dict></plist>",
                      "bad.plist:"},
        MalformedCase{"WrongRoot", "<dict/>", "expected <plist>"},
        MalformedCase{"TwoRootValues", "<plist><dict/><dict/></plist>", "exactly one"},
        MalformedCase{"UnknownElement", "<plist>\n<dict>\n<key>a</key>\n<str>x</str>\n</dict></plist>",
                      "bad.plist:4: unknown plist element <str>"},
        MalformedCase{"BadInteger", "<plist>\n<integer>12a</integer></plist>",
                      "bad.plist:2: <integer>12a</integer>: not an integer"},
        MalformedCase{"BadReal", "<plist><real>x</real></plist>", "not a real number"},
        MalformedCase{"KeyWithoutValue", "<plist><dict><key>a</key></dict></plist>",
                      "has no value"},
        MalformedCase{"DuplicateKey",
                      "<plist><dict><key>a</key><true/><key>a</key><false/></dict></plist>",
                      "appears twice"},
        MalformedCase{"TextInDict", "<plist><dict>hello</dict></plist>", "unexpected text"},
        MalformedCase{"Binary", "bplist00\x01\x02", "plutil -convert xml1 bad.plist"}),
    [](const ::testing::TestParamInfo<MalformedCase>& info) { return info.param.name; });

TEST(Plist, MalformedXmlNamesLine) {
  auto plist = parse_plist("<plist>\n<dict>\n<key>a</key>\n<string>x</strin>\n</dict>\n</plist>\n",
                           "bad.plist");
  ASSERT_FALSE(plist.ok());
  EXPECT_NE(plist.error().message.find("bad.plist:4: malformed XML"), std::string::npos)
      << plist.error().message;
}

TEST(PlistLineOfOffset, CountsNewlines) {
  EXPECT_EQ(line_of_offset("a\nb\nc", 0), 1);
  EXPECT_EQ(line_of_offset("a\nb\nc", 2), 2);
  EXPECT_EQ(line_of_offset("a\nb\nc", 4), 3);
  EXPECT_EQ(line_of_offset("a\nb\nc", 100), 3);
  EXPECT_EQ(line_of_offset("abc", -1), 0);
}

}  // namespace
}  // namespace sanctum::ops
