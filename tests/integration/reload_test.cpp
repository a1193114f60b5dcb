// A running gateway honours certificate changes without a restart: reloads
// on SIGHUP and on file changes, revocation through a rewritten CRL (resumed
// sessions included), a broken reload that keeps the old material, and a CA
// rotation under a client loop.

#include <signal.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "support/gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace sanctum::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class ReloadTest : public ::testing::Test {
 protected:
  TempDir dir;
  fs::path state = dir / "state";

  void SetUp() override {
    ca({"init"});
    ca({"issue", "server", "--server"});
    ca({"issue", "alpha", "--client"});
    ca({"issue", "beta", "--client"});
  }

  void ca(std::vector<std::string> args) {
    auto result = run_ca(state, args, 30s);
    ASSERT_EQ(result.exit_code, 0) << "sanctum ca " << args.front() << ": " << result.err;
  }

  std::unique_ptr<GatewayProcess> start(const fs::path& cert, const fs::path& key,
                                        std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--upstream", "echo", "--cert",
                                  cert.string(), "--key", key.string(), "--client-ca",
                                  (state / "ca-bundle.crt").string(), "--crl",
                                  (state / "crl.pem").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto gateway = std::make_unique<GatewayProcess>(dir.path(), args);
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  std::unique_ptr<GatewayProcess> start(std::vector<std::string> extra = {}) {
    return start(state / "server.crt", state / "server.key", std::move(extra));
  }

  // GET /v1/models as `client`, trusting the state folder's bundle.
  int request_as(const GatewayProcess& gateway, const fs::path& cert, const fs::path& key) {
    auto result = curl({"--cacert", (state / "ca-bundle.crt").string(), "--cert", cert.string(),
                        "--key", key.string(), "-o", "/dev/null", gateway.https_url("/v1/models")});
    if (result.exit_code != 0) {
      last_error = cert.filename().string() + ": " + result.err;
    }
    return result.exit_code;
  }
  std::string last_error;
  int request_as(const GatewayProcess& gateway, const std::string& client) {
    return request_as(gateway, state / "clients" / (client + ".crt"),
                      state / "clients" / (client + ".key"));
  }

  static std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }
};

TEST_F(ReloadTest, RevokedClientRefusedWithoutRestart) {
  auto gateway = start();
  ASSERT_EQ(request_as(*gateway, "alpha"), 0);
  ca({"revoke", "alpha"});
  EXPECT_TRUE(wait_until([&] { return request_as(*gateway, "alpha") != 0; }, 10s))
      << gateway->log();
  EXPECT_EQ(request_as(*gateway, "beta"), 0);
  EXPECT_TRUE(gateway->process().running());
  EXPECT_NE(gateway->log().find("1 revoked"), std::string::npos) << gateway->log();
}

TEST_F(ReloadTest, ResumedSessionOfRevokedClientRefused) {
  auto gateway = start({"--session-tickets"});
  std::string port = std::to_string(gateway->port());
  auto session = (dir / "alpha.session").string();
  auto s_client = [&](const std::string& session_flag) {
    return run_command(
        {"sh", "-c",
         "printf 'GET /v1/models HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
         "openssl s_client -ign_eof -connect 127.0.0.1:" +
             port + " -CAfile " + (state / "ca.crt").string() + " -cert " +
             (state / "clients/alpha.crt").string() + " -key " +
             (state / "clients/alpha.key").string() + " " + session_flag + " " + session},
        15s);
  };
  auto first = s_client("-sess_out");
  ASSERT_NE(first.out.find("HTTP/1.1 200"), std::string::npos) << first.out << first.err;
  auto resumed = s_client("-sess_in");
  ASSERT_NE(resumed.out.find("Reused"), std::string::npos)
      << "the gateway must support resumption for this test to mean anything";

  ca({"revoke", "alpha"});
  ASSERT_TRUE(wait_until([&] { return count(gateway->log(), "reloaded TLS material") >= 1; }, 10s));
  auto after = s_client("-sess_in");
  EXPECT_EQ(after.out.find("Reused"), std::string::npos) << after.out;
  EXPECT_EQ(after.out.find("HTTP/1.1 200"), std::string::npos) << after.out;
  // The refused handshake is the third record; the first two are the
  // requests before the revocation.
  ASSERT_TRUE(wait_until([&] { return gateway->access_records().size() >= 3; }, 5s));
  EXPECT_EQ(gateway->access_records().back()["error"], "revoked");
}

TEST_F(ReloadTest, MismatchedKeyKeepsServingOldMaterial) {
  fs::copy_file(state / "server.crt", dir / "server.crt");
  fs::copy_file(state / "server.key", dir / "server.key");
  auto gateway = start(dir / "server.crt", dir / "server.key");
  ASSERT_EQ(request_as(*gateway, "alpha"), 0);

  fs::copy_file(state / "clients/beta.key", dir / "server.key", fs::copy_options::overwrite_existing);
  gateway->process().send_signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return gateway->log().find("reload failed") != std::string::npos; },
                         10s))
      << gateway->log();
  EXPECT_NE(gateway->log().find("does not match server certificate"), std::string::npos);
  EXPECT_EQ(request_as(*gateway, "alpha"), 0);
  EXPECT_TRUE(gateway->process().running());
}

TEST_F(ReloadTest, SighupReloadsAndLogsSerials) {
  auto gateway = start();
  gateway->process().send_signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] { return gateway->log().find("reloaded TLS material") != std::string::npos; }, 10s));
  EXPECT_NE(gateway->log().find("server certificate serial"), std::string::npos);
  EXPECT_EQ(request_as(*gateway, "alpha"), 0);
}

TEST_F(ReloadTest, InFlightStreamSurvivesReload) {
  auto gateway = std::make_unique<GatewayProcess>(
      dir.path(),
      std::vector<std::string>{"--listen", "127.0.0.1:0", "--upstream", "echo", "--chunk-delay",
                               "200ms", "--cert", (state / "server.crt").string(), "--key",
                               (state / "server.key").string(), "--client-ca",
                               (state / "ca-bundle.crt").string()});
  ASSERT_TRUE(gateway->wait_ready()) << gateway->log();
  auto client = Process::start_piped(
      {"curl", "-sS", "-N", "--max-time", "20", "--cacert", (state / "ca-bundle.crt").string(),
       "--cert", (state / "clients/alpha.crt").string(), "--key",
       (state / "clients/alpha.key").string(), gateway->https_url("/v1/completions"), "-d",
       R"({"prompt":"one two three four five six","stream":true})"},
      dir / "curl.err");
  ASSERT_TRUE(client.read_line(10s).has_value());
  gateway->process().send_signal(SIGHUP);
  std::string rest;
  while (auto line = client.read_line(10s)) {
    rest += *line + "\n";
  }
  EXPECT_NE(rest.find("data: [DONE]"), std::string::npos) << rest;
  EXPECT_EQ(client.wait(5s), 0);
  EXPECT_NE(gateway->log().find("reloaded TLS material"), std::string::npos);
}

TEST_F(ReloadTest, CaRotationUnderClientLoopLosesNoRequest) {
  auto gateway = start();
  // The client keeps its own copy of its old files, as an off-box client
  // would until it is given new ones.
  fs::copy_file(state / "clients/alpha.crt", dir / "alpha-old.crt");
  fs::copy_file(state / "clients/alpha.key", dir / "alpha-old.key");

  std::atomic<bool> stop{false};
  std::atomic<bool> use_new{false};
  std::atomic<int> sent{0};
  std::atomic<int> failed{0};
  std::thread loop([&] {
    // Bounded: at most 400 requests, and the test stops it sooner.
    while (!stop && sent < 400) {
      bool fresh = use_new;
      int code = fresh ? request_as(*gateway, "alpha")
                       : request_as(*gateway, dir / "alpha-old.crt", dir / "alpha-old.key");
      ++sent;
      if (code != 0) {
        ++failed;
      }
    }
  });

  auto wait_reloads = [&](std::size_t n) {
    return wait_until([&] { return count(gateway->log(), "reloaded TLS material") >= n; }, 15s);
  };
  ASSERT_TRUE(wait_until([&] { return sent >= 5; }, 20s));
  ca({"rotate"});
  ASSERT_TRUE(wait_reloads(1)) << gateway->log();
  int before_switch = sent;
  ASSERT_TRUE(wait_until([&] { return sent >= before_switch + 5; }, 20s));
  use_new = true;
  int after_switch = sent;
  ASSERT_TRUE(wait_until([&] { return sent >= after_switch + 5; }, 20s));
  std::size_t reloads = count(gateway->log(), "reloaded TLS material");
  ca({"rotate", "--finish"});
  ASSERT_TRUE(wait_reloads(reloads + 1)) << gateway->log();
  int after_finish = sent;
  ASSERT_TRUE(wait_until([&] { return sent >= after_finish + 5; }, 20s));
  stop = true;
  loop.join();

  EXPECT_EQ(failed.load(), 0) << "of " << sent.load() << " requests, last error: " << last_error;
  // After the rotation is finished the old CA is gone, so the old
  // certificate no longer works.
  EXPECT_TRUE(wait_until(
      [&] { return request_as(*gateway, dir / "alpha-old.crt", dir / "alpha-old.key") != 0; },
      10s));
}

}  // namespace
}  // namespace sanctum::test
