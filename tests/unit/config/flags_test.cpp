#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/flags.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::config {
namespace {

namespace fs = std::filesystem;

std::string describe(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& problem : problems) {
    out += to_string(problem) + "\n";
  }
  return out;
}

ServeFlags mtls_flags(const test::TempDir& dir) {
  ServeFlags flags;
  flags.listen = {"127.0.0.1:1337", "[::1]:1337"};
  flags.cert = (dir / "server.crt").string();
  flags.key = (dir / "server.key").string();
  flags.client_ca = (dir / "ca.crt").string();
  flags.upstream = "http://127.0.0.1:8080";
  flags.allow = {"guardian", "canary"};
  return flags;
}

TEST(ConfigFromFlags, BuildsMtlsListener) {
  test::TempDir dir;
  std::vector<Problem> problems;
  Result<Config> config = config_from_flags(mtls_flags(dir), problems);
  ASSERT_TRUE(config.ok()) << describe(problems);

  EXPECT_TRUE(config->source_file.empty());
  EXPECT_TRUE(config->plain);
  EXPECT_EQ(config->tls.cert_file, dir / "server.crt");
  EXPECT_EQ(config->tls.key_file, dir / "server.key");
  EXPECT_EQ(config->tls.client_ca_file, dir / "ca.crt");
  EXPECT_TRUE(config->tls.crl_file.empty());
  EXPECT_FALSE(config->tls.session_tickets);
  ASSERT_EQ(config->listeners.size(), 1u);
  const ListenerConfig& listener = config->listeners[0];
  EXPECT_EQ(listener.name, "serve");
  EXPECT_TRUE(listener.tls);
  EXPECT_EQ(listener.auth, AuthMode::mtls);
  ASSERT_EQ(listener.bind.size(), 2u);
  EXPECT_EQ(to_string(listener.bind[1]), "[::1]:1337");
  EXPECT_EQ(listener.upstream.port, 8080);
  EXPECT_EQ(listener.allow, (std::vector<std::string>{"guardian", "canary"}));
  EXPECT_EQ(listener.source_line, 0);
}

TEST(ConfigFromFlags, ResolvesRelativePathsAgainstWorkingFolder) {
  ServeFlags flags;
  flags.listen = {"127.0.0.1:1337"};
  flags.upstream = "echo";
  flags.cert = "certs/server.crt";
  flags.access_log = "logs/access.jsonl";

  std::vector<Problem> problems;
  Result<Config> config = config_from_flags(flags, problems);
  ASSERT_TRUE(config.ok()) << describe(problems);
  EXPECT_EQ(config->tls.cert_file, fs::current_path() / "certs/server.crt");
  EXPECT_EQ(config->log.access_log, (fs::current_path() / "logs/access.jsonl").string());
}

TEST(ConfigFromFlags, BuildsBearerListenerFromTokenFile) {
  ServeFlags flags;
  flags.listen = {"127.0.0.1:1337"};
  flags.upstream = "echo";
  flags.auth_token_file = "/run/sanctum/token";

  std::vector<Problem> problems;
  Result<Config> config = config_from_flags(flags, problems);
  ASSERT_TRUE(config.ok()) << describe(problems);
  const ListenerConfig& listener = config->listeners.at(0);
  EXPECT_FALSE(listener.tls);
  EXPECT_EQ(listener.auth, AuthMode::bearer);
  EXPECT_EQ(listener.auth_token_file, fs::path("/run/sanctum/token"));
}

TEST(ConfigFromFlags, RejectsTlsFlagsWithTokenFile) {
  test::TempDir dir;
  ServeFlags flags = mtls_flags(dir);
  flags.auth_token_file = (dir / "token").string();

  std::vector<Problem> problems;
  Result<Config> config = config_from_flags(flags, problems);
  ASSERT_FALSE(config.ok());
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_EQ(problems[0].key, "--auth-token-file");
  EXPECT_EQ(config.error().message, "1 problem in the command-line flags");
}

TEST(ConfigFromFlags, SessionTicketsFlagSetsTlsKey) {
  test::TempDir dir;
  ServeFlags flags = mtls_flags(dir);
  flags.session_tickets = true;

  std::vector<Problem> problems;
  Result<Config> config = config_from_flags(flags, problems);
  ASSERT_TRUE(config.ok()) << describe(problems);
  EXPECT_TRUE(config->tls.session_tickets);
}

TEST(ConfigFromFlags, RejectsSessionTicketsWithTokenFile) {
  test::TempDir dir;
  ServeFlags flags;
  flags.upstream = "echo";
  flags.auth_token_file = (dir / "token").string();
  flags.session_tickets = true;

  std::vector<Problem> problems;
  Result<Config> config = config_from_flags(flags, problems);
  ASSERT_FALSE(config.ok());
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_EQ(problems[0].key, "--auth-token-file");
  EXPECT_NE(problems[0].message.find("--session-tickets"), std::string::npos)
      << problems[0].message;
}

TEST(ConfigFromFlags, ReportsBadAddressAndUpstream) {
  ServeFlags flags;
  flags.listen = {"127.0.0.1"};
  flags.upstream = "https://127.0.0.1:8080";

  std::vector<Problem> problems;
  Result<Config> config = config_from_flags(flags, problems);
  ASSERT_FALSE(config.ok());
  ASSERT_EQ(problems.size(), 2u) << describe(problems);
  EXPECT_EQ(problems[0].key, "--listen");
  EXPECT_EQ(problems[1].key, "--upstream");
  EXPECT_EQ(to_string(problems[1]).rfind("--upstream: invalid upstream", 0), 0u)
      << to_string(problems[1]);
}

TEST(ConfigFromFlags, MatchesEquivalentFile) {
  test::TempDir dir;
  fs::path path = dir / "sanctum.toml";
  std::ofstream(path) << R"(plain = false
threads = 2

[tls]
cert = "server.crt"
key = "server.key"
client_ca = "ca.crt"

[log]
access_log = "-"

[[listener]]
name = "serve"
bind = ["127.0.0.1:1337", "[::1]:1337"]
upstream = "http://127.0.0.1:8080"
allow = ["guardian", "canary"]
)";
  std::vector<Problem> problems;
  Result<Config> from_file = load(path, problems);
  ASSERT_TRUE(from_file.ok()) << describe(problems);

  ServeFlags flags = mtls_flags(dir);
  flags.no_plain = true;
  flags.threads = 2;
  flags.access_log = "-";
  Result<Config> from_flags = config_from_flags(flags, problems);
  ASSERT_TRUE(from_flags.ok()) << describe(problems);

  EXPECT_EQ(from_flags->plain, from_file->plain);
  EXPECT_EQ(from_flags->threads, from_file->threads);
  EXPECT_EQ(from_flags->log.access_log, from_file->log.access_log);
  EXPECT_EQ(from_flags->tls.cert_file, from_file->tls.cert_file);
  EXPECT_EQ(from_flags->tls.key_file, from_file->tls.key_file);
  EXPECT_EQ(from_flags->tls.client_ca_file, from_file->tls.client_ca_file);
  const ListenerConfig& flag_listener = from_flags->listeners.at(0);
  const ListenerConfig& file_listener = from_file->listeners.at(0);
  EXPECT_EQ(flag_listener.name, file_listener.name);
  EXPECT_EQ(flag_listener.tls, file_listener.tls);
  EXPECT_EQ(flag_listener.auth, file_listener.auth);
  EXPECT_EQ(to_string(flag_listener.bind.at(0)), to_string(file_listener.bind.at(0)));
  EXPECT_EQ(to_string(flag_listener.bind.at(1)), to_string(file_listener.bind.at(1)));
  EXPECT_EQ(flag_listener.upstream.text, file_listener.upstream.text);
  EXPECT_EQ(flag_listener.allow, file_listener.allow);
}

TEST(ApplyOverrides, ChangesOnlySetFlags) {
  Config config;
  config.threads = 4;
  config.log.access_log = "/var/log/sanctum/access.jsonl";

  ServeFlags flags;
  flags.no_plain = true;
  apply_overrides(flags, config);
  EXPECT_FALSE(config.plain);
  EXPECT_EQ(config.threads, 4);
  EXPECT_EQ(config.log.access_log, "/var/log/sanctum/access.jsonl");

  flags.threads = 1;
  flags.access_log = "";
  apply_overrides(flags, config);
  EXPECT_EQ(config.threads, 1);
  EXPECT_EQ(config.log.access_log, "");
}

TEST(HasListenerFlags, IgnoresOverrideFlags) {
  ServeFlags flags;
  flags.no_plain = true;
  flags.threads = 2;
  flags.access_log = "-";
  EXPECT_FALSE(has_listener_flags(flags));

  flags.crl = "crl.pem";
  EXPECT_TRUE(has_listener_flags(flags));

  ServeFlags tickets;
  tickets.session_tickets = true;
  EXPECT_TRUE(has_listener_flags(tickets));
}

}  // namespace
}  // namespace sanctum::config
