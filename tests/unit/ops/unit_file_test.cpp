#include <gtest/gtest.h>

#include "ops/unit_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::ops {
namespace {

using test::TempDir;
using test::write_text;

TEST(UnitFile, ParsesSectionsKeysAndComments) {
  auto unit = parse_unit(
      "# comment\n; other comment\n\n[Unit]\nDescription = the gateway \n\n[Service]\n"
      "ExecStart=/bin/sanctum serve\nEnvironment=A=1\nEnvironment=B=2\n",
      "x.service");
  ASSERT_TRUE(unit.ok()) << unit.error().message;
  ASSERT_EQ(unit->sections.size(), 2u);
  EXPECT_EQ(unit->values("Unit", "Description"), std::vector<std::string>{"the gateway"});
  EXPECT_EQ(unit->values("Service", "Environment"), (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(unit->find("Service")->assignments[0].line, 8);
}

TEST(UnitFile, JoinsContinuationLines) {
  auto unit = parse_unit(
      "[Service]\nExecStart=/bin/sanctum \\\n  serve \\\n# skipped comment\n  --no-plain\nType=simple\n",
      "x.service");
  ASSERT_TRUE(unit.ok()) << unit.error().message;
  EXPECT_EQ(unit->values("Service", "ExecStart"),
            std::vector<std::string>{"/bin/sanctum  serve  --no-plain"});
  EXPECT_EQ(unit->values("Service", "Type"), std::vector<std::string>{"simple"});
}

TEST(UnitFile, MergesRepeatedSections) {
  auto unit = parse_unit("[Service]\nType=simple\n[Unit]\nA=1\n[Service]\nRestart=always\n", "x");
  ASSERT_TRUE(unit.ok()) << unit.error().message;
  ASSERT_EQ(unit->sections.size(), 2u);
  EXPECT_EQ(unit->find("Service")->assignments.size(), 2u);
}

struct BadUnitCase {
  const char* name;
  const char* text;
  const char* message;
};

// Names the case in test output instead of its bytes.
void PrintTo(const BadUnitCase& c, std::ostream* out) { *out << c.name; }

class UnitFileMalformed : public ::testing::TestWithParam<BadUnitCase> {};

TEST_P(UnitFileMalformed, RejectsWithLine) {
  auto unit = parse_unit(GetParam().text, "bad.service");
  ASSERT_FALSE(unit.ok());
  EXPECT_NE(unit.error().message.find(GetParam().message), std::string::npos)
      << unit.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, UnitFileMalformed,
    ::testing::Values(BadUnitCase{"KeyBeforeSection", "\nRestart=always\n",
                                  "bad.service:2: key \"Restart\" appears before"},
                      BadUnitCase{"NoEquals", "[Service]\nRestart always\n",
                                  "bad.service:2: invalid line"},
                      BadUnitCase{"OpenHeader", "[Service\n", "bad.service:1: invalid section"},
                      BadUnitCase{"EmptyKey", "[Service]\n=x\n", "has no key"}),
    [](const ::testing::TestParamInfo<BadUnitCase>& info) { return info.param.name; });

TEST(UnitFileDropIn, OverridesSingleValueKey) {
  auto base = parse_unit("[Service]\nRestart=on-failure\nExecStartPre=/bin/a\n", "base");
  auto drop_in = parse_unit("[Service]\nRestart=always\nExecStartPre=/bin/b\n", "drop");
  ASSERT_TRUE(base.ok()) << base.error().message;
  ASSERT_TRUE(drop_in.ok()) << drop_in.error().message;
  merge_drop_in(*base, *drop_in);
  EXPECT_EQ(base->values("Service", "Restart"), std::vector<std::string>{"always"});
  EXPECT_EQ(base->values("Service", "ExecStartPre"),
            (std::vector<std::string>{"/bin/a", "/bin/b"}));
}

TEST(UnitFileDropIn, EmptyAssignmentResetsList) {
  auto base = parse_unit("[Service]\nExecStart=/bin/a\n", "base");
  auto drop_in = parse_unit("[Service]\nExecStart=\nExecStart=/bin/b\n", "drop");
  ASSERT_TRUE(base.ok()) << base.error().message;
  ASSERT_TRUE(drop_in.ok()) << drop_in.error().message;
  merge_drop_in(*base, *drop_in);
  EXPECT_EQ(base->values("Service", "ExecStart"), std::vector<std::string>{"/bin/b"});
}

TEST(UnitFileDropIn, ReadsConfFilesInLexicalOrder) {
  TempDir dir;
  write_text(dir / "x.service", "[Service]\nRestart=no\n");
  std::filesystem::create_directories(dir / "x.service.d");
  write_text(dir / "x.service.d" / "20-late.conf", "[Service]\nRestart=always\n");
  write_text(dir / "x.service.d" / "10-early.conf", "[Service]\nRestart=on-failure\nNice=5\n");
  write_text(dir / "x.service.d" / "notes.txt", "[Service]\nRestart=never-read\n");
  auto unit = read_unit_file(dir / "x.service");
  ASSERT_TRUE(unit.ok()) << unit.error().message;
  EXPECT_EQ(unit->values("Service", "Restart"), std::vector<std::string>{"always"});
  EXPECT_EQ(unit->values("Service", "Nice"), std::vector<std::string>{"5"});
}

TEST(UnitFileDropIn, MalformedDropInNamesFile) {
  TempDir dir;
  write_text(dir / "x.service", "[Service]\nRestart=no\n");
  std::filesystem::create_directories(dir / "x.service.d");
  write_text(dir / "x.service.d" / "override.conf", "[Service]\nbroken\n");
  auto unit = read_unit_file(dir / "x.service");
  ASSERT_FALSE(unit.ok());
  EXPECT_NE(unit.error().message.find("override.conf:2:"), std::string::npos)
      << unit.error().message;
}

TEST(UnitFileCommandLine, SplitsQuotesAndPrefixes) {
  EXPECT_EQ(split_command_line("-/usr/bin/python3 -m mlx_lm.server --port 1337"),
            (std::vector<std::string>{"/usr/bin/python3", "-m", "mlx_lm.server", "--port", "1337"}));
  EXPECT_EQ(split_command_line("/bin/sh -c \"exec a 'b c'\" x\\ y"),
            (std::vector<std::string>{"/bin/sh", "-c", "exec a 'b c'", "x y"}));
  EXPECT_EQ(split_command_line("/bin/echo $$HOME 100%%"),
            (std::vector<std::string>{"/bin/echo", "$HOME", "100%"}));
}

TEST(UnitFileCommandLine, QuoteRoundTrips) {
  for (std::string argument : {"plain", "with space", "quote\"inside", "back\\slash", "$HOME",
                               "50%", ""}) {
    std::string line = "/bin/x " + quote_exec_argument(argument);
    auto words = split_command_line(line);
    ASSERT_EQ(words.size(), 2u) << line;
    EXPECT_EQ(words[1], argument) << line;
  }
}

}  // namespace
}  // namespace sanctum::ops
