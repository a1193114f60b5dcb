// Walks docs/migration.md end to end with the real binary: the example
// configs copied into a temporary HOME, with ephemeral ports in place of
// 1337 and 1338 and the echo model in place of mlx_lm.server. Each step runs
// the command the page shows, in the page's order.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ops/time_text.hpp"
#include "support/gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

bool can_bind(int family, std::uint16_t port) {
  int fd = ::socket(family, SOCK_STREAM, 0);
  int rc;
  if (family == AF_INET) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  } else {
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    address.sin6_port = htons(port);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  }
  ::close(fd);
  return rc == 0;
}

// A port that was free a moment ago on both 127.0.0.1 and ::1.
std::uint16_t free_dual_stack_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    std::uint16_t port = ntohs(address.sin_port);
    if (can_bind(AF_INET6, port)) {
      return port;
    }
  }
  throw std::runtime_error("no port free on both 127.0.0.1 and ::1");
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

unsigned mode_of(const fs::path& path) {
  struct stat info {};
  ::stat(path.c_str(), &info);
  return info.st_mode & 07777;
}

class MigrationWalkthrough : public ::testing::Test {
 protected:
  TempDir home;
  fs::path sanctum_dir = home / ".sanctum";
  fs::path dual = sanctum_dir / "dual-port.toml";
  fs::path mtls_only = sanctum_dir / "mtls-only.toml";
  fs::path token = sanctum_dir / "secrets" / "council-mlx.token";
  fs::path access_log = sanctum_dir / "access.log";
  // Stand-ins for 1337 and 1338.
  std::uint16_t front_port = free_dual_stack_port();
  std::uint16_t back_port = free_dual_stack_port();

  void SetUp() override {
    ASSERT_NE(front_port, back_port);
    fs::create_directories(sanctum_dir);
    fs::permissions(sanctum_dir, fs::perms::owner_all);
    copy_example("dual-port.toml", dual);
    copy_example("mtls-only.toml", mtls_only);
  }

  void copy_example(const std::string& name, const fs::path& to) {
    std::string text = read_text(fs::path(SANCTUM_SOURCE_DIR) / "examples" / name);
    ASSERT_FALSE(text.empty()) << name;
    text = replace_all(text, ":1337\"", ":" + std::to_string(front_port) + "\"");
    text = replace_all(text, ":1338\"", ":" + std::to_string(back_port) + "\"");
    text = replace_all(text, "\"http://127.0.0.1:8080\"", "\"echo\"");
    write_text(to, text);
  }

  // Runs `sanctum ARGS` with HOME set to the temporary home.
  CommandResult sanctum(std::vector<std::string> args) {
    args.insert(args.begin(), sanctum_binary());
    return run_command(args, 60s, {"HOME=" + home.path().string(), "SANCTUM_HOME="});
  }

  // Runs `sanctum serve ARGS`; GatewayProcess adds
  // `--access-log ~/.sanctum/access.log`, as the documented commands do.
  std::unique_ptr<GatewayProcess> serve(std::vector<std::string> args) {
    auto gateway = std::make_unique<GatewayProcess>(sanctum_dir, args);
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  void stop(std::unique_ptr<GatewayProcess>& gateway) {
    gateway->process().send_signal(SIGTERM);
    EXPECT_EQ(gateway->process().wait(15s), 0) << gateway->log();
    gateway.reset();
  }

  CommandResult mtls_get(const std::string& client, std::uint16_t port) {
    fs::path certs = sanctum_dir / "certs";
    return curl({"--cacert", (certs / "ca.crt").string(), "--cert",
                 (certs / "clients" / (client + ".crt")).string(), "--key",
                 (certs / "clients" / (client + ".key")).string(),
                 "https://127.0.0.1:" + std::to_string(port) + "/v1/models"});
  }

  std::string log_path(const std::string& name) const {
    return (sanctum_dir / "logs" / name).string();
  }
};

TEST_F(MigrationWalkthrough, DocumentedSequenceRuns) {
  // 1. Issue the certificates.
  for (auto args : std::vector<std::vector<std::string>>{
           {"ca", "init"},
           {"ca", "issue", "server", "--server"},
           {"ca", "issue", "guardian", "--client"},
           {"ca", "issue", "sanctum-server", "--client"}}) {
    auto result = sanctum(args);
    ASSERT_EQ(result.exit_code, 0) << args[1] << ": " << result.err;
  }
  ASSERT_TRUE(fs::exists(sanctum_dir / "certs" / "crl.pem"));

  // 2. Run dual-port.
  auto created = sanctum({"token", "create", "--config", dual.string()});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(mode_of(token), 0600u);
  EXPECT_EQ(mode_of(token.parent_path()), 0700u);
  auto gateway = serve({"--config", dual.string()});
  ASSERT_TRUE(gateway);

  auto plain = curl({"-w", "\n%{http_code}",
                     "http://127.0.0.1:" + std::to_string(front_port) + "/v1/models"});
  EXPECT_NE(plain.out.find("sanctum-echo"), std::string::npos) << plain.out << plain.err;
  auto moved = mtls_get("guardian", back_port);
  EXPECT_EQ(moved.exit_code, 0) << moved.err;

  // 3. Move the clients: the report shows who is left.
  auto report = sanctum({"migration-report", "--access-log", access_log.string(), "--since",
                         "24h"});
  EXPECT_EQ(report.exit_code, 1) << report.out << report.err;
  EXPECT_NE(report.out.find("plain-loopback"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("guardian"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("still used by 1 caller(s): 127.0.0.1"), std::string::npos)
      << report.out;

  // The last plain client moved; only traffic after that moment counts.
  std::this_thread::sleep_for(1100ms);
  std::string cutover = ops::format_utc(ops::Clock::now());
  ASSERT_EQ(mtls_get("guardian", back_port).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return gateway->access_records().size() >= 3; }, 5s));
  auto after = sanctum({"migration-report", "--access-log", access_log.string(), "--since",
                        cutover});
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_NE(after.out.find("--no-plain is safe"), std::string::npos) << after.out;

  // 4. Drop the plain listener: first the rehearsal, then the final config.
  stop(gateway);
  gateway = serve({"--config", dual.string(), "--no-plain"});
  auto refused = curl({"http://127.0.0.1:" + std::to_string(front_port) + "/v1/models"});
  EXPECT_EQ(refused.exit_code, 7) << "plain port must refuse at TCP level: " << refused.out;
  EXPECT_EQ(mtls_get("guardian", back_port).exit_code, 0);
  stop(gateway);
  gateway = serve({"--config", mtls_only.string()});
  EXPECT_EQ(mtls_get("guardian", front_port).exit_code, 0);

  // 5. Retire the token.
  auto retired = sanctum({"token", "retire", "--config", dual.string()});
  ASSERT_EQ(retired.exit_code, 0) << retired.err;
  EXPECT_FALSE(fs::exists(token));
  fs::path retired_file =
      token.string() + ".retired-" + ops::local_date_compact(ops::Clock::now());
  EXPECT_TRUE(fs::exists(retired_file)) << retired.out;
  EXPECT_NE(retired.out.find("sanctum token restore --token-file " + token.string()),
            std::string::npos)
      << retired.out;
  auto status = sanctum({"token", "status", "--config", dual.string()});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("bearer auth: off"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("rollback window open until"), std::string::npos) << status.out;
  auto status_json = sanctum({"token", "status", "--config", dual.string(), "--json"});
  auto parsed = json::parse(status_json.out);
  EXPECT_EQ(parsed["bearer_live"], false);
  EXPECT_EQ(parsed["retired"][0]["window"], "open");

  // 6. Verify, after one run of the guardian probe.
  ASSERT_EQ(run_command({"mkdir", "-p", log_path("")}).exit_code, 0);
  auto probe = sanctum({"probe", "guardian", "--once", "--log", log_path("guardian.jsonl"),
                        "--url", "https://127.0.0.1:" + std::to_string(front_port)});
  EXPECT_EQ(probe.exit_code, 0) << probe.out << probe.err;
  auto verified = sanctum({"verify", "--config", mtls_only.string(), "--token-file",
                           token.string(), "--probe-log", log_path("guardian.jsonl"),
                           "--old-port", std::to_string(back_port)});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("5 PASS, 0 WARN, 0 FAIL"), std::string::npos) << verified.out;

  // Rolling back.
  auto restored = sanctum({"token", "restore", "--config", dual.string()});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_TRUE(fs::exists(token));
  EXPECT_EQ(mode_of(token), 0600u);
  stop(gateway);
  gateway = serve({"--config", dual.string()});
  auto rolled_back = sanctum({"verify", "--config", dual.string(), "--old-port",
                              std::to_string(front_port), "--json"});
  EXPECT_EQ(rolled_back.exit_code, 1) << rolled_back.out << rolled_back.err;
  std::map<std::string, std::string> statuses;
  json rollback_report = json::parse(rolled_back.out);
  for (const auto& check : rollback_report["checks"]) {
    statuses[check["id"].get<std::string>()] = check["status"].get<std::string>();
  }
  EXPECT_EQ(statuses["mtls-serves"], "PASS");
  EXPECT_EQ(statuses["plain-refused"], "PASS");
  EXPECT_EQ(statuses["old-port-closed"], "FAIL");
  EXPECT_EQ(statuses["bearer-retired"], "FAIL");
  auto bearer_again = curl({"-w", "\n%{http_code}",
                            "http://127.0.0.1:" + std::to_string(front_port) + "/v1/models"});
  EXPECT_NE(bearer_again.out.find("sanctum-echo"), std::string::npos) << bearer_again.out;

  // Moving forward again.
  ASSERT_EQ(sanctum({"token", "retire", "--config", dual.string()}).exit_code, 0);
  stop(gateway);
  gateway = serve({"--config", mtls_only.string()});
  auto forward = sanctum({"verify", "--config", mtls_only.string(), "--token-file",
                          token.string(), "--old-port", std::to_string(back_port)});
  EXPECT_EQ(forward.exit_code, 0) << forward.out << forward.err;

  // Purging: refused while the window is open, done once it has closed.
  auto early = sanctum({"token", "purge", "--config", dual.string()});
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_NE(early.err.find("rollback window is open until"), std::string::npos) << early.err;
  EXPECT_TRUE(fs::exists(retired_file));
  auto later = ops::Clock::now() + std::chrono::days(8);
  auto purged = sanctum({"token", "purge", "--config", dual.string(), "--now",
                         ops::format_utc(later)});
  EXPECT_EQ(purged.exit_code, 0) << purged.err;
  EXPECT_FALSE(fs::exists(retired_file));
  EXPECT_FALSE(fs::exists(retired_file.string() + ".window"));
  auto final_check = sanctum({"verify", "--config", mtls_only.string(), "--token-file",
                              token.string(), "--old-port", std::to_string(back_port), "--json"});
  EXPECT_EQ(final_check.exit_code, 0) << final_check.out;
  stop(gateway);
}

TEST_F(MigrationWalkthrough, PurgeForceDeletesOpenWindow) {
  ASSERT_EQ(sanctum({"token", "create", "--config", dual.string()}).exit_code, 0);
  ASSERT_EQ(sanctum({"token", "retire", "--config", dual.string(), "--window", "14d"}).exit_code,
            0);
  auto status = json::parse(sanctum({"token", "status", "--config", dual.string(), "--json"}).out);
  ASSERT_EQ(status["retired"].size(), 1u);
  auto retired_at = ops::parse_timestamp(status["retired"][0]["retired_at"].get<std::string>());
  auto closes = ops::parse_timestamp(status["retired"][0]["window_closes"].get<std::string>());
  ASSERT_TRUE(retired_at.has_value());
  ASSERT_TRUE(closes.has_value());
  EXPECT_EQ(*closes - *retired_at, std::chrono::days(14));

  auto forced = sanctum({"token", "purge", "--config", dual.string(), "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.out.find("deleted " + token.string() + ".retired-"), std::string::npos)
      << forced.out;
  auto after = json::parse(sanctum({"token", "status", "--config", dual.string(), "--json"}).out);
  EXPECT_TRUE(after["retired"].empty());
}

TEST_F(MigrationWalkthrough, TokenCommandsRefuseWithHints) {
  auto retire = sanctum({"token", "retire", "--config", dual.string()});
  EXPECT_EQ(retire.exit_code, 1);
  EXPECT_NE(retire.err.find("no bearer token at " + token.string()), std::string::npos)
      << retire.err;

  ASSERT_EQ(sanctum({"token", "create", "--config", dual.string()}).exit_code, 0);
  auto again = sanctum({"token", "create", "--config", dual.string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;

  auto restore = sanctum({"token", "restore", "--config", dual.string()});
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_NE(restore.err.find("already live"), std::string::npos) << restore.err;

  auto no_bearer = sanctum({"token", "status", "--config", mtls_only.string()});
  EXPECT_EQ(no_bearer.exit_code, 2);
  EXPECT_NE(no_bearer.err.find("--token-file"), std::string::npos) << no_bearer.err;

  auto bad_window = sanctum({"token", "retire", "--config", dual.string(), "--window", "week"});
  EXPECT_EQ(bad_window.exit_code, 2);
  EXPECT_TRUE(fs::exists(token));

  // The default location is ~/.sanctum/secrets/gateway.token.
  auto fresh = sanctum({"token", "create"});
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_TRUE(fs::exists(sanctum_dir / "secrets" / "gateway.token"));
}

TEST_F(MigrationWalkthrough, ReportExitCodes) {
  auto missing = sanctum({"migration-report", "--access-log", access_log.string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find(access_log.string()), std::string::npos) << missing.err;

  write_text(access_log,
             "garbage\n{\"time\":\"2026-04-21T10:00:00Z\",\"transport\":\"mtls\",\"client\":"
             "\"guardian\",\"peer\":\"127.0.0.1:5\",\"outcome\":\"complete\"}\n");
  auto clean = sanctum({"migration-report", "--access-log", access_log.string(), "--since",
                        "7d", "--now", "2026-04-22T00:00:00Z", "--json"});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  auto json_out = json::parse(clean.out);
  EXPECT_EQ(json_out["malformed_lines"], 1);
  EXPECT_EQ(json_out["callers"][0]["identity"], "guardian");

  auto bad_since = sanctum({"migration-report", "--access-log", access_log.string(), "--since",
                            "last week"});
  EXPECT_EQ(bad_since.exit_code, 2);

  // A window with no request at all proves nothing, so it is not "safe".
  auto empty = sanctum({"migration-report", "--access-log", access_log.string(), "--since",
                        "1h", "--now", "2026-04-22T00:00:00Z"});
  EXPECT_EQ(empty.exit_code, 1) << empty.out;
  EXPECT_NE(empty.out.find("cannot tell"), std::string::npos) << empty.out;
  EXPECT_EQ(empty.out.find("safe to turn on"), std::string::npos) << empty.out;

  auto future = sanctum({"migration-report", "--access-log", access_log.string(), "--since",
                         "2026-05-01T00:00:00Z", "--now", "2026-04-22T00:00:00Z"});
  EXPECT_EQ(future.exit_code, 2);
  EXPECT_NE(future.err.find("in the future"), std::string::npos) << future.err;
}

}  // namespace
}  // namespace sanctum::test
