// `sanctum service` and `sanctum drift` run as a user runs them: the built
// binary on files in a temporary folder, with exit codes and output checked.

#include <gtest/gtest.h>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "support/gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::test {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

CommandResult sanctum(std::vector<std::string> args) {
  args.insert(args.begin(), sanctum_binary());
  return run_command(args);
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class ServiceCliTest : public ::testing::Test {
 protected:
  // Renders `role` for `manager` into `out` with fixed paths.
  CommandResult render(const std::string& manager, const std::string& role, const fs::path& out,
                       std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"service",    "render",
                                     "--manager",  manager,
                                     "--role",     role,
                                     "--binary",   sanctum_binary(),
                                     "--cert-dir", (temp_ / "certs").string(),
                                     "--log-dir",  (temp_ / "logs").string()};
    if (role == "server") {
      args.insert(args.end(), {"--config", (temp_ / "sanctum.toml").string()});
    }
    if (!out.empty()) {
      args.insert(args.end(), {"--out", out.string()});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return sanctum(args);
  }

  TempDir temp_;
};

TEST_F(ServiceCliTest, RenderTwiceGivesSameBytes) {
  for (const char* manager : {"launchd", "systemd"}) {
    for (const char* role : {"server", "guardian", "canary", "parity", "ca-check"}) {
      auto first = render(manager, role, {});
      auto second = render(manager, role, {});
      ASSERT_EQ(first.exit_code, 0) << manager << " " << role << ": " << first.err;
      EXPECT_FALSE(first.out.empty());
      EXPECT_EQ(first.out, second.out) << manager << " " << role;
    }
  }
}

TEST_F(ServiceCliTest, RenderPrintsHeadersForServiceAndTimer) {
  auto result = render("systemd", "canary", {});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "==> sanctum-canary.service <==\n")) << result.out;
  EXPECT_TRUE(contains(result.out, "==> sanctum-canary.timer <==\n")) << result.out;
}

TEST_F(ServiceCliTest, RenderedDefinitionsHaveNoDrift) {
  fs::path out = temp_ / "out";
  for (const char* role : {"server", "guardian", "canary", "parity", "ca-check"}) {
    ASSERT_EQ(render("launchd", role, out, {}).exit_code, 0);
    ASSERT_EQ(render("systemd", role, out, {}).exit_code, 0);
  }
  fs::create_directories(temp_ / "copy");
  for (const auto& entry : fs::directory_iterator(out)) {
    fs::copy_file(entry.path(), temp_ / "copy" / entry.path().filename());
  }
  auto one = sanctum({"drift", (out / "com.sanctum.server.plist").string(),
                      (temp_ / "copy" / "com.sanctum.server.plist").string()});
  EXPECT_EQ(one.exit_code, 0) << one.out << one.err;
  EXPECT_TRUE(contains(one.out, "no drift")) << one.out;

  auto folder = sanctum({"drift", out.string(), (temp_ / "copy").string(), "--json"});
  EXPECT_EQ(folder.exit_code, 0) << folder.out << folder.err;
  auto report = nlohmann::json::parse(folder.out);
  EXPECT_EQ(report["drift"], false);
  EXPECT_TRUE(report["differences"].empty());
}

TEST_F(ServiceCliTest, RenderWritesFilesWithOut) {
  auto result = render("systemd", "parity", temp_ / "units");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(fs::exists(temp_ / "units" / "sanctum-parity.service"));
  EXPECT_TRUE(fs::exists(temp_ / "units" / "sanctum-parity.timer"));
  EXPECT_TRUE(contains(result.out, "wrote ")) << result.out;
}

TEST_F(ServiceCliTest, RenderRejectsBadInput) {
  auto role = sanctum({"service", "render", "--manager", "launchd", "--role", "mlx"});
  EXPECT_EQ(role.exit_code, 2);
  auto manager = sanctum({"service", "render", "--manager", "upstart", "--role", "server"});
  EXPECT_EQ(manager.exit_code, 2);
  auto config = sanctum({"service", "render", "--manager", "launchd", "--role", "server"});
  EXPECT_EQ(config.exit_code, 2);
  EXPECT_TRUE(contains(config.err, "missing --config")) << config.err;
  auto prompts = render("launchd", "canary", {}, {"--prompts", "/tmp/p"});
  EXPECT_EQ(prompts.exit_code, 2);
  EXPECT_TRUE(contains(prompts.err, "--prompts does not apply to --role canary")) << prompts.err;
}

TEST_F(ServiceCliTest, RenderDefaultsToRunningBinary) {
  auto result = sanctum({"service", "render", "--manager", "systemd", "--role", "ca-check",
                         "--cert-dir", "/srv/certs", "--log-dir", "/srv/logs"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::string binary = fs::canonical(sanctum_binary()).string();
  EXPECT_TRUE(contains(result.out, "ExecStart=" + binary + " ca check --warn-days 30 --dir /srv/certs"))
      << result.out;
}

struct EditCase {
  const char* name;
  const char* manager;
  const char* role;
  const char* from;
  const char* to;
  const char* expected_line;
};

// Names the case in test output instead of its bytes.
void PrintTo(const EditCase& c, std::ostream* out) { *out << c.name; }

class DriftEditTest : public ServiceCliTest, public ::testing::WithParamInterface<EditCase> {};

TEST_P(DriftEditTest, DetectsEdit) {
  const EditCase& c = GetParam();
  fs::path committed_dir = temp_ / "committed";
  ASSERT_EQ(render(c.manager, c.role, committed_dir, {"--no-plain"}).exit_code, 0);
  fs::path committed = *fs::directory_iterator(committed_dir);
  std::string text = read_text(committed);
  fs::path deployed = temp_ / committed.filename();
  write_text(deployed, replace(text, c.from, c.to));

  auto result = sanctum({"drift", deployed.string(), committed.string()});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_TRUE(contains(result.out, c.expected_line)) << result.out;
}

INSTANTIATE_TEST_SUITE_P(
    Edits, DriftEditTest,
    ::testing::Values(
        EditCase{"RemovedArgument", "launchd", "server", "\t\t<string>--no-plain</string>\n", "",
                 "ProgramArguments[4]: \"--no-plain\" in committed, missing in deployed"},
        EditCase{"MissingKey", "launchd", "server", "\t<key>KeepAlive</key>\n\t<true/>\n", "",
                 "KeepAlive: true in committed, missing in deployed"},
        EditCase{"ExtraKey", "launchd", "server", "\t<key>Label</key>",
                 "\t<key>ThrottleInterval</key>\n\t<integer>5</integer>\n\t<key>Label</key>",
                 "ThrottleInterval: missing in committed, 5 in deployed"},
        EditCase{"TypeChange", "launchd", "server", "<key>KeepAlive</key>\n\t<true/>",
                 "<key>KeepAlive</key>\n\t<string>true</string>",
                 "KeepAlive: true (boolean) in committed, \"true\" (string) in deployed"},
        EditCase{"ChangedSystemdValue", "systemd", "server", "Restart=on-failure",
                 "Restart=always",
                 "[Service] Restart: \"on-failure\" in committed, \"always\" in deployed"}),
    [](const ::testing::TestParamInfo<EditCase>& info) { return info.param.name; });

TEST_F(ServiceCliTest, DriftIgnoresReorderedKeys) {
  ASSERT_EQ(render("launchd", "canary", temp_ / "committed").exit_code, 0);
  fs::path committed = temp_ / "committed" / "com.sanctum.canary.plist";
  std::string text = read_text(committed);
  // Move the Label entry from the middle to the end of the dict.
  std::string label = "\t<key>Label</key>\n\t<string>com.sanctum.canary</string>\n";
  std::string moved = replace(text, label, "");
  moved = replace(moved, "</dict>\n</plist>", label + "</dict>\n</plist>");
  write_text(temp_ / "deployed.plist", moved);
  ASSERT_NE(moved, text);
  auto result = sanctum({"drift", (temp_ / "deployed.plist").string(), committed.string()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

TEST_F(ServiceCliTest, DriftJsonListsDifferences) {
  ASSERT_EQ(render("launchd", "server", temp_ / "committed", {"--no-plain"}).exit_code, 0);
  fs::path committed = temp_ / "committed" / "com.sanctum.server.plist";
  write_text(temp_ / "deployed.plist",
             replace(read_text(committed), "\t\t<string>--no-plain</string>\n", ""));
  auto result = sanctum({"drift", (temp_ / "deployed.plist").string(), committed.string(), "--json"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  auto report = nlohmann::json::parse(result.out);
  EXPECT_EQ(report["drift"], true);
  ASSERT_EQ(report["differences"].size(), 1u);
  EXPECT_EQ(report["differences"][0]["path"], "ProgramArguments[4]");
  EXPECT_EQ(report["differences"][0]["committed"], "--no-plain");
  EXPECT_TRUE(report["differences"][0]["deployed"].is_null());
  EXPECT_EQ(report["differences"][0]["kind"], "missing");
}

TEST_F(ServiceCliTest, DriftSeesRepeatedKeyOrderAndDropIn) {
  fs::path committed_dir = temp_ / "committed";
  fs::path deployed_dir = temp_ / "deployed";
  fs::create_directories(committed_dir);
  fs::create_directories(deployed_dir / "sanctum-server.service.d");
  std::string unit =
      "[Service]\nExecStartPre=/bin/mkdir -p /srv/logs\nExecStartPre=/bin/true\n"
      "ExecStart=/usr/bin/sanctum serve --config /etc/sanctum.toml\nRestart=on-failure\n";
  write_text(committed_dir / "sanctum-server.service", unit);
  write_text(deployed_dir / "sanctum-server.service",
             replace(unit, "ExecStartPre=/bin/mkdir -p /srv/logs\nExecStartPre=/bin/true",
                     "ExecStartPre=/bin/true\nExecStartPre=/bin/mkdir -p /srv/logs"));
  write_text(deployed_dir / "sanctum-server.service.d" / "10-restart.conf",
             "[Service]\nRestart=always\n");
  auto result = sanctum({"drift", deployed_dir.string(), committed_dir.string()});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.out,
                       "sanctum-server.service: [Service] ExecStartPre[0]: \"/bin/mkdir -p "
                       "/srv/logs\" in committed, \"/bin/true\" in deployed"))
      << result.out;
  EXPECT_TRUE(contains(result.out,
                       "sanctum-server.service: [Service] Restart: \"on-failure\" in committed, "
                       "\"always\" in deployed"))
      << result.out;
}

TEST_F(ServiceCliTest, DriftFolderModeBothDirections) {
  fs::path committed_dir = temp_ / "committed";
  fs::path deployed_dir = temp_ / "deployed";
  ASSERT_EQ(render("launchd", "server", committed_dir).exit_code, 0);
  ASSERT_EQ(render("launchd", "canary", committed_dir).exit_code, 0);
  ASSERT_EQ(render("launchd", "server", deployed_dir).exit_code, 0);
  ASSERT_EQ(render("launchd", "guardian", deployed_dir).exit_code, 0);
  auto result = sanctum({"drift", deployed_dir.string(), committed_dir.string()});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.out, "com.sanctum.canary.plist: " +
                                       (committed_dir / "com.sanctum.canary.plist").string() +
                                       " in committed, missing in deployed"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "com.sanctum.guardian.plist: missing in committed, " +
                                       (deployed_dir / "com.sanctum.guardian.plist").string() +
                                       " in deployed"))
      << result.out;
  EXPECT_FALSE(contains(result.out, "com.sanctum.server.plist")) << result.out;
}

TEST_F(ServiceCliTest, DriftMalformedXmlExitsTwoWithLine) {
  ASSERT_EQ(render("launchd", "server", temp_ / "committed").exit_code, 0);
  fs::path committed = temp_ / "committed" / "com.sanctum.server.plist";
  std::string broken = replace(read_text(committed), "<string>serve</string>", "<string>serve</strin>");
  write_text(temp_ / "broken.plist", broken);
  auto result = sanctum({"drift", (temp_ / "broken.plist").string(), committed.string()});
  EXPECT_EQ(result.exit_code, 2);
  std::size_t line = 1 + static_cast<std::size_t>(std::count(
                             broken.begin(), broken.begin() + broken.find("</strin>"), '\n'));
  EXPECT_TRUE(contains(result.err, (temp_ / "broken.plist").string() + ":" +
                                       std::to_string(line) + ": malformed XML"))
      << result.err;
}

TEST_F(ServiceCliTest, DriftBinaryPlistNamesPlutil) {
  write_text(temp_ / "a.plist", "bplist00\x01\x02\x03");
  write_text(temp_ / "b.plist", "<plist><dict/></plist>");
  auto result = sanctum({"drift", (temp_ / "a.plist").string(), (temp_ / "b.plist").string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(result.err, "plutil -convert xml1 " + (temp_ / "a.plist").string()))
      << result.err;
}

TEST_F(ServiceCliTest, DriftMissingFileExitsTwo) {
  write_text(temp_ / "b.plist", "<plist><dict/></plist>");
  auto result =
      sanctum({"drift", (temp_ / "nonexistent.plist").string(), (temp_ / "b.plist").string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(result.err, "nonexistent.plist")) << result.err;
}

constexpr const char* kServerMlxPlist = R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>com.sanctum.server-mlx</string>
	<key>ProgramArguments</key>
	<array>
		<string>/opt/homebrew/bin/python3</string>
		<string>-m</string>
		<string>mlx_lm.server</string>
		<string>--model</string>
		<string>mlx-community/Qwen3-30B-A3B-4bit</string>
		<string>--port</string>
		<string>1337</string>
	</array>
	<key>KeepAlive</key>
	<true/>
	<key>RunAtLoad</key>
	<true/>
</dict>
</plist>
)";

TEST_F(ServiceCliTest, ConflictsFindsMlxServerOnGatewayPort) {
  fs::path agents = temp_ / "LaunchAgents";
  ASSERT_EQ(render("launchd", "guardian", agents).exit_code, 0);
  write_text(agents / "com.sanctum.server-mlx.plist", kServerMlxPlist);
  write_text(agents / "com.sanctum.server-mlx.plist.disabled-20260422", kServerMlxPlist);

  auto active = sanctum({"service", "conflicts", "--dir", agents.string()});
  EXPECT_EQ(active.exit_code, 1) << active.out << active.err;
  EXPECT_TRUE(contains(active.out, "conflict: " + (agents / "com.sanctum.server-mlx.plist").string() +
                                       ": mlx_lm.server binds 127.0.0.1:1337 (--port 1337, host "
                                       "defaults to 127.0.0.1)"))
      << active.out;
  EXPECT_TRUE(contains(active.out, "disabled (harmless): " +
                                       (agents / "com.sanctum.server-mlx.plist.disabled-20260422")
                                           .string()))
      << active.out;
  EXPECT_FALSE(contains(active.out, "guardian")) << active.out;

  fs::remove(agents / "com.sanctum.server-mlx.plist");
  auto disabled_only = sanctum({"service", "conflicts", "--dir", agents.string(), "--json"});
  EXPECT_EQ(disabled_only.exit_code, 0) << disabled_only.out << disabled_only.err;
  auto report = nlohmann::json::parse(disabled_only.out);
  EXPECT_EQ(report["conflict"], false);
  EXPECT_TRUE(report["conflicts"].empty());
  ASSERT_EQ(report["disabled"].size(), 1u);
  EXPECT_EQ(report["disabled"][0]["program"], "mlx_lm.server");
}

TEST_F(ServiceCliTest, ConflictsOtherPortIsClean) {
  fs::path agents = temp_ / "LaunchAgents";
  fs::create_directories(agents);
  write_text(agents / "com.sanctum.server-mlx.plist", kServerMlxPlist);
  auto result = sanctum({"service", "conflicts", "--dir", agents.string(), "--port", "1338"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

TEST_F(ServiceCliTest, ConflictsUnreadableInputExitsTwo) {
  auto missing = sanctum({"service", "conflicts", "--dir", (temp_ / "nonexistent").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, "not a folder")) << missing.err;
  fs::create_directories(temp_ / "bad");
  write_text(temp_ / "bad" / "x.service", "Restart=always\n");
  auto malformed = sanctum({"service", "conflicts", "--dir", (temp_ / "bad").string()});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_TRUE(contains(malformed.err, "x.service:1:")) << malformed.err;
}

TEST_F(ServiceCliTest, ConflictsScanGoesOnPastBinaryPlist) {
  fs::path agents = temp_ / "LaunchAgents";
  fs::create_directories(agents);
  write_text(agents / "com.apple.binary.plist", "bplist00\x01\x02\x03");
  write_text(agents / "com.sanctum.server-mlx.plist", kServerMlxPlist);
  auto found = sanctum({"service", "conflicts", "--dir", agents.string()});
  EXPECT_EQ(found.exit_code, 1) << "the conflict still decides the exit code";
  EXPECT_TRUE(contains(found.out, "conflict: " + (agents / "com.sanctum.server-mlx.plist").string()))
      << found.out;
  EXPECT_TRUE(contains(found.out, "1 definition(s) could not be read")) << found.out;
  EXPECT_TRUE(contains(found.err, "not checked: " + (agents / "com.apple.binary.plist").string()))
      << found.err;
  EXPECT_TRUE(contains(found.err, "plutil -convert xml1")) << found.err;

  fs::remove(agents / "com.sanctum.server-mlx.plist");
  auto unsure = sanctum({"service", "conflicts", "--dir", agents.string(), "--json"});
  EXPECT_EQ(unsure.exit_code, 2) << "a scan that skipped a file is not clean";
  auto report = nlohmann::json::parse(unsure.out);
  EXPECT_TRUE(report["conflicts"].empty());
  ASSERT_EQ(report["unread"].size(), 1u);
}

TEST_F(ServiceCliTest, SystemdAnalyzeVerifiesRenderedUnits) {
  if (::access("/usr/bin/systemd-analyze", X_OK) != 0 && ::access("/bin/systemd-analyze", X_OK) != 0) {
    GTEST_SKIP() << "systemd-analyze is not installed";
  }
  fs::path out = temp_ / "units";
  fs::create_directories(temp_ / "certs");
  fs::create_directories(temp_ / "logs");
  write_text(temp_ / "sanctum.toml", "");
  std::vector<std::string> verify = {"systemd-analyze", "verify", "--man=no"};
  for (const char* role : {"server", "guardian", "canary", "parity", "ca-check"}) {
    ASSERT_EQ(render("systemd", role, out).exit_code, 0) << role;
  }
  for (const auto& entry : fs::directory_iterator(out)) {
    verify.push_back(entry.path().string());
  }
  auto result = run_command(verify, std::chrono::seconds(60));
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.err, "") << result.err;
}

}  // namespace
}  // namespace sanctum::test
