#include <gtest/gtest.h>

#include "ops/service_conflicts.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::ops {
namespace {

namespace fs = std::filesystem;

struct BindCase {
  const char* name;
  std::vector<std::string> argv;
  std::map<std::string, std::string> environment;
  const char* program;
  std::optional<std::string> host;  // of the single expected claim
  std::uint16_t port;
};

// Names the case in test output instead of its bytes.
void PrintTo(const BindCase& c, std::ostream* out) { *out << c.name; }

class ExtractBinds : public ::testing::TestWithParam<BindCase> {};

TEST_P(ExtractBinds, FindsOneClaim) {
  const BindCase& c = GetParam();
  CommandBinds binds = extract_binds(c.argv, c.environment, "/nonexistent");
  EXPECT_EQ(binds.program, c.program);
  ASSERT_EQ(binds.claims.size(), 1u) << binds.program;
  EXPECT_EQ(binds.claims[0].host, c.host);
  EXPECT_EQ(binds.claims[0].port, c.port);
  EXPECT_FALSE(binds.claims[0].evidence.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExtractBinds,
    ::testing::Values(
        BindCase{"MlxModulePort",
                 {"/opt/homebrew/bin/python3", "-m", "mlx_lm.server", "--port", "1337"},
                 {}, "mlx_lm.server", "127.0.0.1", 1337},
        BindCase{"MlxDefaults", {"mlx_lm.server", "--model", "m"}, {}, "mlx_lm.server",
                 "127.0.0.1", 8080},
        BindCase{"MlxHostEquals", {"python", "-m", "mlx_lm.server", "--host=0.0.0.0"}, {},
                 "mlx_lm.server", "0.0.0.0", 8080},
        BindCase{"LlamaServer", {"/usr/bin/llama-server", "-m", "x.gguf", "--port", "1337"}, {},
                 "llama-server", "127.0.0.1", 1337},
        BindCase{"OllamaDefault", {"/usr/local/bin/ollama", "serve"}, {}, "ollama serve",
                 "127.0.0.1", 11434},
        BindCase{"OllamaHostEnv", {"ollama", "serve"}, {{"OLLAMA_HOST", "0.0.0.0:1337"}},
                 "ollama serve", "0.0.0.0", 1337},
        BindCase{"OllamaHostUrl", {"ollama", "serve"}, {{"OLLAMA_HOST", "http://[::1]:1337"}},
                 "ollama serve", "::1", 1337},
        BindCase{"SanctumDefault", {"/usr/bin/sanctum", "serve", "--upstream", "http://127.0.0.1:8080"},
                 {}, "sanctum serve", "127.0.0.1", 1337},
        BindCase{"SanctumListen", {"sanctum", "serve", "--listen", "[::1]:1444"}, {},
                 "sanctum serve", "::1", 1444},
        BindCase{"GenericListenUrl", {"/usr/bin/proxy", "--listen", "http://0.0.0.0:1337"}, {},
                 "proxy", "0.0.0.0", 1337},
        BindCase{"GenericBindWithPort", {"proxy", "--bind", "10.10.10.1", "--port", "1337"}, {},
                 "proxy", "10.10.10.1", 1337},
        BindCase{"GenericPortWithoutHost", {"proxy", "--port=1337"}, {}, "proxy", std::nullopt,
                 1337},
        BindCase{"EnvWrapper", {"/usr/bin/env", "PYTHONUNBUFFERED=1", "python3", "-m",
                                "mlx_lm.server", "--port", "1337"},
                 {}, "mlx_lm.server", "127.0.0.1", 1337},
        BindCase{"ShellWrapper", {"/bin/sh", "-c", "exec python3 -m mlx_lm.server --port 1337"},
                 {}, "mlx_lm.server", "127.0.0.1", 1337},
        BindCase{"OllamaEnvWrapper", {"env", "OLLAMA_HOST=0.0.0.0", "ollama", "serve"}, {},
                 "ollama serve", "0.0.0.0", 11434}),
    [](const ::testing::TestParamInfo<BindCase>& info) { return info.param.name; });

TEST(ExtractBinds, IgnoresProbeUrls) {
  CommandBinds binds = extract_binds(
      {"sanctum", "probe", "guardian", "--url", "https://127.0.0.1:1337", "--every", "30s"}, {},
      "/");
  EXPECT_TRUE(binds.claims.empty());
  EXPECT_FALSE(binds.gateway);
}

TEST(ExtractBinds, ReadsGatewayConfigListeners) {
  test::TempDir dir;
  test::write_text(dir / "sanctum.toml", R"(
[tls]
cert = "server.crt"
key = "server.key"
client_ca = "ca.crt"

[[listener]]
name = "mtls"
bind = ["127.0.0.1:1337", "[::1]:1337"]
upstream = "http://127.0.0.1:8080"

[[listener]]
name = "plain"
tls = false
bind = ["127.0.0.1:1338"]
upstream = "http://127.0.0.1:8080"
auth = "none"
)");
  CommandBinds all = extract_binds({"sanctum", "serve", "--config", "sanctum.toml"}, {}, dir.path());
  EXPECT_TRUE(all.gateway);
  ASSERT_EQ(all.claims.size(), 3u) << (all.notes.empty() ? "" : all.notes[0]);
  EXPECT_EQ(all.claims[2].port, 1338);

  CommandBinds tls_only =
      extract_binds({"sanctum", "serve", "--config", (dir / "sanctum.toml").string(), "--no-plain"},
                    {}, "/");
  ASSERT_EQ(tls_only.claims.size(), 2u);
  EXPECT_NE(tls_only.claims[0].evidence.find("listener \"mtls\""), std::string::npos);
}

TEST(ExtractBinds, MissingGatewayConfigIsNote) {
  CommandBinds binds = extract_binds({"sanctum", "serve", "--config", "/nonexistent/s.toml"}, {}, "/");
  EXPECT_TRUE(binds.claims.empty());
  ASSERT_EQ(binds.notes.size(), 1u);
  EXPECT_NE(binds.notes[0].find("not found"), std::string::npos);
}

TEST(HostsOverlap, WildcardsLoopbackAndUnknown) {
  EXPECT_TRUE(hosts_overlap(std::string("127.0.0.1"), "127.0.0.1"));
  EXPECT_TRUE(hosts_overlap(std::string("localhost"), "127.0.0.1"));
  EXPECT_TRUE(hosts_overlap(std::string("0.0.0.0"), "127.0.0.1"));
  EXPECT_TRUE(hosts_overlap(std::string("::"), "100.0.0.25"));
  EXPECT_TRUE(hosts_overlap(std::string("10.10.10.1"), "0.0.0.0"));
  EXPECT_TRUE(hosts_overlap(std::nullopt, "127.0.0.1"));
  EXPECT_FALSE(hosts_overlap(std::string("10.10.10.1"), "127.0.0.1"));
  EXPECT_FALSE(hosts_overlap(std::string("::1"), "127.0.0.1"));
}

constexpr const char* kMlxPlist = R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>com.sanctum.server-mlx</string>
  <key>ProgramArguments</key>
  <array>
    <string>/opt/homebrew/bin/python3</string>
    <string>-m</string>
    <string>mlx_lm.server</string>
    <string>--model</string>
    <string>mlx-community/Qwen3-4bit</string>
    <string>--port</string>
    <string>1337</string>
  </array>
  <key>KeepAlive</key><true/>
</dict>
</plist>
)";

TEST(ScanConflicts, FindsActiveMlxAndListsDisabledCopy) {
  test::TempDir dir;
  test::write_text(dir / "com.sanctum.server-mlx.plist", kMlxPlist);
  test::write_text(dir / "com.sanctum.server-mlx.plist.disabled-20260422", kMlxPlist);
  test::write_text(dir / "triage.service",
                   "[Service]\nExecStart=/usr/bin/triage --listen 10.10.10.1:1337\n");
  test::write_text(dir / "ollama.service",
                   "[Service]\nEnvironment=\"OLLAMA_HOST=0.0.0.0:1337\"\nExecStart=/usr/bin/ollama serve\n");
  test::write_text(dir / "gateway.socket", "[Socket]\nListenStream=127.0.0.1:1444\n");
  auto report = scan_conflicts(dir.path(), "127.0.0.1", 1337);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->conflicts.size(), 2u);
  EXPECT_EQ(report->conflicts[0].file.filename(), "com.sanctum.server-mlx.plist");
  EXPECT_EQ(report->conflicts[0].program, "mlx_lm.server");
  EXPECT_EQ(report->conflicts[1].file.filename(), "ollama.service");
  ASSERT_EQ(report->disabled.size(), 1u);
  EXPECT_EQ(report->disabled[0].file.filename(), "com.sanctum.server-mlx.plist.disabled-20260422");
  EXPECT_TRUE(report->has_conflict());
  std::string text = format_conflict_report(*report);
  EXPECT_NE(text.find("disabled (harmless): "), std::string::npos) << text;
}

TEST(ScanConflicts, OneGatewayIsNoConflict) {
  test::TempDir dir;
  test::write_text(dir / "com.sanctum.server.plist",
                   R"(<plist><dict><key>ProgramArguments</key><array>
<string>/usr/local/bin/sanctum</string><string>serve</string><string>--listen</string>
<string>127.0.0.1:1337</string></array></dict></plist>)");
  auto report = scan_conflicts(dir.path(), "127.0.0.1", 1337);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->gateways.size(), 1u);
  EXPECT_FALSE(report->has_conflict());
}

TEST(ScanConflicts, LaunchdSocketsCount) {
  test::TempDir dir;
  test::write_text(dir / "com.example.sock.plist",
                   R"(<plist><dict><key>Program</key><string>/usr/bin/x</string>
<key>Sockets</key><dict><key>Listeners</key><dict>
<key>SockServiceName</key><string>1337</string></dict></dict></dict></plist>)");
  auto report = scan_conflicts(dir.path(), "127.0.0.1", 1337);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->conflicts.size(), 1u);
  EXPECT_EQ(report->conflicts[0].claim.host, "::");
}

TEST(ScanConflicts, MalformedDefinitionListedUnread) {
  test::TempDir dir;
  test::write_text(dir / "broken.plist", "<plist><dict>\n<key>a</key>\n</plist>");
  auto report = scan_conflicts(dir.path(), "127.0.0.1", 1337);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->unread.size(), 1u);
  EXPECT_NE(report->unread[0].find("broken.plist:"), std::string::npos) << report->unread[0];
  EXPECT_FALSE(report->has_conflict());
  EXPECT_NE(format_conflict_report(*report).find("1 definition(s) could not be read"),
            std::string::npos);
}

}  // namespace
}  // namespace sanctum::ops
