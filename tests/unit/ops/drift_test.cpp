#include <gtest/gtest.h>

#include "ops/drift.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::ops {
namespace {

namespace fs = std::filesystem;

std::string wrap(const std::string& dict_body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n" +
         dict_body + "</dict>\n</plist>\n";
}

const std::string kCommitted = wrap(R"(
  <key>Label</key><string>com.sanctum.server</string>
  <key>ProgramArguments</key>
  <array>
    <string>/usr/local/bin/sanctum</string>
    <string>serve</string>
    <string>--config</string>
    <string>/etc/sanctum.toml</string>
    <string>--no-plain</string>
  </array>
  <key>KeepAlive</key><true/>
  <key>EnvironmentVariables</key>
  <dict>
    <key>A</key><string>1</string>
    <key>B</key><string>2</string>
  </dict>
)");

std::vector<Difference> diff(const std::string& committed, const std::string& deployed) {
  auto c = parse_plist(committed, "committed.plist");
  auto d = parse_plist(deployed, "deployed.plist");
  EXPECT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(d.ok()) << d.error().message;
  if (!c.ok() || !d.ok()) {
    return {};
  }
  return diff_plists(*c, *d);
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) {
    text.replace(at, from.size(), to);
  }
  return text;
}

TEST(PlistDrift, IdenticalHasNoDifference) { EXPECT_TRUE(diff(kCommitted, kCommitted).empty()); }

TEST(PlistDrift, ReorderedKeysAndWhitespaceHaveNoDifference) {
  std::string deployed = wrap(R"(<key>KeepAlive</key>
      <true/>
  <key>EnvironmentVariables</key><dict><key>B</key><string>2</string><key>A</key><string>1</string></dict>
  <key>ProgramArguments</key><array><string>/usr/local/bin/sanctum</string><string>serve</string>
  <string>--config</string><string>/etc/sanctum.toml</string><string>--no-plain</string></array>
  <key>Label</key>
  <string>com.sanctum.server</string>
)");
  EXPECT_TRUE(diff(kCommitted, deployed).empty());
}

TEST(PlistDrift, MissingArgumentNamesIndex) {
  auto differences =
      diff(kCommitted, replace(kCommitted, "<string>--no-plain</string>", ""));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].path, "ProgramArguments[4]");
  EXPECT_EQ(differences[0].kind, "missing");
  EXPECT_EQ(format_difference(differences[0]),
            "ProgramArguments[4]: \"--no-plain\" in committed, missing in deployed");
}

TEST(PlistDrift, ChangedArgument) {
  auto differences = diff(kCommitted, replace(kCommitted, "/etc/sanctum.toml", "/tmp/other.toml"));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].kind, "changed");
  EXPECT_EQ(format_difference(differences[0]),
            "ProgramArguments[3]: \"/etc/sanctum.toml\" in committed, \"/tmp/other.toml\" in "
            "deployed");
}

TEST(PlistDrift, MissingKey) {
  auto differences = diff(kCommitted, replace(kCommitted, "<key>KeepAlive</key><true/>", ""));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(format_difference(differences[0]), "KeepAlive: true in committed, missing in deployed");
}

TEST(PlistDrift, ExtraKey) {
  auto differences = diff(
      kCommitted, replace(kCommitted, "<key>KeepAlive</key>",
                          "<key>StartInterval</key><integer>600</integer><key>KeepAlive</key>"));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].kind, "extra");
  EXPECT_EQ(format_difference(differences[0]),
            "StartInterval: missing in committed, 600 in deployed");
}

TEST(PlistDrift, TypeChangeNamesBothTypes) {
  auto differences = diff(kCommitted, replace(kCommitted, "<key>KeepAlive</key><true/>",
                                              "<key>KeepAlive</key><string>true</string>"));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].kind, "type");
  EXPECT_EQ(format_difference(differences[0]),
            "KeepAlive: true (boolean) in committed, \"true\" (string) in deployed");
}

TEST(PlistDrift, NestedDictValueNamesKeyPath) {
  auto differences = diff(kCommitted, replace(kCommitted, "<string>2</string>",
                                              "<string>3</string>"));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].path, "EnvironmentVariables.B");
}

TEST(PlistDrift, IntegerFormsCompareAsNumbers) {
  EXPECT_TRUE(diff(wrap("<key>N</key><integer>16</integer>"),
                   wrap("<key>N</key><integer>0x10</integer>"))
                  .empty());
  EXPECT_EQ(diff(wrap("<key>N</key><integer>16</integer>"),
                 wrap("<key>N</key><real>16</real>"))
                .size(),
            1u);
}

TEST(PlistDrift, JsonReportCarriesTypedValues) {
  auto differences = diff(kCommitted, replace(kCommitted, "<key>KeepAlive</key><true/>",
                                              "<key>KeepAlive</key><string>true</string>"));
  nlohmann::json report = drift_report_json(differences);
  EXPECT_EQ(report["drift"], true);
  ASSERT_EQ(report["differences"].size(), 1u);
  const auto& entry = report["differences"][0];
  EXPECT_EQ(entry["path"], "KeepAlive");
  EXPECT_EQ(entry["kind"], "type");
  EXPECT_EQ(entry["committed"], true);
  EXPECT_EQ(entry["deployed"], "true");
  EXPECT_EQ(entry["committed_type"], "boolean");
  EXPECT_EQ(entry["deployed_type"], "string");
  EXPECT_TRUE(entry["file"].is_null());
}

std::vector<Difference> diff_unit_text(const std::string& committed, const std::string& deployed) {
  auto c = parse_unit(committed, "committed.service");
  auto d = parse_unit(deployed, "deployed.service");
  EXPECT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(d.ok()) << d.error().message;
  if (!c.ok() || !d.ok()) {
    return {};
  }
  return diff_units(*c, *d);
}

const std::string kUnit =
    "[Unit]\nDescription=gateway\n\n[Service]\nExecStartPre=/bin/a\nExecStartPre=/bin/b\n"
    "ExecStart=/usr/bin/sanctum serve --config /etc/sanctum.toml\nRestart=always\n";

TEST(UnitDrift, CommentsAndBlankLinesHaveNoDifference) {
  EXPECT_TRUE(diff_unit_text(kUnit, "# deployed\n" + replace(kUnit, "\n\n", "\n; note\n\n\n"))
                  .empty());
}

TEST(UnitDrift, ChangedValue) {
  auto differences = diff_unit_text(kUnit, replace(kUnit, "Restart=always", "Restart=on-failure"));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(format_difference(differences[0]),
            "[Service] Restart: \"always\" in committed, \"on-failure\" in deployed");
}

TEST(UnitDrift, RepeatedKeyOrderMatters) {
  auto differences = diff_unit_text(
      kUnit, replace(kUnit, "ExecStartPre=/bin/a\nExecStartPre=/bin/b",
                     "ExecStartPre=/bin/b\nExecStartPre=/bin/a"));
  ASSERT_EQ(differences.size(), 2u);
  EXPECT_EQ(differences[0].path, "[Service] ExecStartPre[0]");
  EXPECT_EQ(differences[1].path, "[Service] ExecStartPre[1]");
  EXPECT_EQ(format_difference(differences[0]),
            "[Service] ExecStartPre[0]: \"/bin/a\" in committed, \"/bin/b\" in deployed");
}

TEST(UnitDrift, MissingAndExtraKeys) {
  auto differences = diff_unit_text(
      kUnit, replace(kUnit, "Restart=always\n", "User=model\n"));
  ASSERT_EQ(differences.size(), 2u);
  EXPECT_EQ(format_difference(differences[0]),
            "[Service] Restart: \"always\" in committed, missing in deployed");
  EXPECT_EQ(format_difference(differences[1]),
            "[Service] User: missing in committed, \"model\" in deployed");
}

TEST(UnitDrift, DropInOverrideIsDrift) {
  test::TempDir dir;
  fs::create_directories(dir / "deployed" / "sanctum-server.service.d");
  fs::create_directories(dir / "committed");
  test::write_text(dir / "deployed" / "sanctum-server.service", kUnit);
  test::write_text(dir / "committed" / "sanctum-server.service", kUnit);
  test::write_text(dir / "deployed" / "sanctum-server.service.d" / "override.conf",
                   "[Service]\nRestart=on-failure\n");
  auto differences = compare_definitions(dir / "deployed" / "sanctum-server.service",
                                         dir / "committed" / "sanctum-server.service");
  ASSERT_TRUE(differences.ok()) << differences.error().message;
  ASSERT_EQ(differences->size(), 1u);
  EXPECT_EQ(format_difference((*differences)[0]),
            "[Service] Restart: \"always\" in committed, \"on-failure\" in deployed");
}

TEST(FolderDrift, ReportsBothDirectionsAndCommonFiles) {
  test::TempDir dir;
  fs::create_directories(dir / "deployed");
  fs::create_directories(dir / "committed");
  test::write_text(dir / "deployed" / "com.sanctum.server.plist",
                   replace(kCommitted, "<string>--no-plain</string>", ""));
  test::write_text(dir / "committed" / "com.sanctum.server.plist", kCommitted);
  test::write_text(dir / "committed" / "com.sanctum.canary.plist", kCommitted);
  test::write_text(dir / "deployed" / "sanctum-extra.timer", "[Timer]\nOnCalendar=daily\n");
  test::write_text(dir / "deployed" / "com.sanctum.old.plist.disabled-20260422", kCommitted);
  test::write_text(dir / "deployed" / "README.txt", "not a definition");

  auto differences = compare_definitions(dir / "deployed", dir / "committed");
  ASSERT_TRUE(differences.ok()) << differences.error().message;
  ASSERT_EQ(differences->size(), 3u);
  EXPECT_EQ((*differences)[0].file, "com.sanctum.canary.plist");
  EXPECT_EQ((*differences)[0].kind, "missing");
  EXPECT_EQ((*differences)[1].file, "com.sanctum.server.plist");
  EXPECT_EQ(format_difference((*differences)[1]),
            "com.sanctum.server.plist: ProgramArguments[4]: \"--no-plain\" in committed, "
            "missing in deployed");
  EXPECT_EQ((*differences)[2].file, "sanctum-extra.timer");
  EXPECT_EQ((*differences)[2].kind, "extra");
}

TEST(FileDrift, RejectsPlistAgainstUnit) {
  test::TempDir dir;
  test::write_text(dir / "a.plist", kCommitted);
  test::write_text(dir / "a.service", kUnit);
  auto differences = compare_definitions(dir / "a.plist", dir / "a.service");
  ASSERT_FALSE(differences.ok());
  EXPECT_NE(differences.error().message.find("one is a launchd plist"), std::string::npos);
}

TEST(FileDrift, RejectsFolderAgainstFile) {
  test::TempDir dir;
  test::write_text(dir / "a.plist", kCommitted);
  auto differences = compare_definitions(dir.path(), dir / "a.plist");
  ASSERT_FALSE(differences.ok());
  EXPECT_NE(differences.error().message.find("is a folder but"), std::string::npos);
}

TEST(FileDrift, SniffsPlistWithoutExtension) {
  test::TempDir dir;
  test::write_text(dir / "deployed", kCommitted);
  test::write_text(dir / "committed.xml", kCommitted);
  auto differences = compare_definitions(dir / "deployed", dir / "committed.xml");
  ASSERT_TRUE(differences.ok()) << differences.error().message;
  EXPECT_TRUE(differences->empty());
}

}  // namespace
}  // namespace sanctum::ops
