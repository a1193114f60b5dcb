// End-to-end tests of `sanctum probe`: the real binary against real
// gateways on loopback, with certificates made at test time.

#include <signal.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/gateway.hpp"
#include "support/process.hpp"
#include "support/server_cert.hpp"
#include "support/stub_model.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

class ProbeTest : public ::testing::Test {
 protected:
  TempDir dir;
  TestPki pki{dir / "pki"};
  // A `sanctum ca` state folder: ca.crt and clients/NAME.crt and .key.
  fs::path cert_dir = pki.dir() / "root";

  // Starts a gateway in its own folder DIR/NAME, so that several can run.
  std::unique_ptr<GatewayProcess> start_gateway(const std::string& name,
                                                std::vector<std::string> extra = {},
                                                const std::string& upstream = "echo",
                                                const CertPair* server = nullptr) {
    fs::create_directories(dir / name);
    std::vector<std::string> args{
        "--listen", "127.0.0.1:0", "--upstream", upstream, "--threads", "1",
        "--cert", server ? server->cert.string() : pki.server_cert().string(),
        "--key", server ? server->key.string() : pki.server_key().string(),
        "--client-ca", pki.ca_cert().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto gateway = std::make_unique<GatewayProcess>(dir / name, args);
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  std::vector<std::string> target_flags(const std::string& url,
                                        const std::string& client = TestPki::kGoodClient) const {
    return {"--url", url, "--cert-dir", cert_dir.string(), "--client", client};
  }

  std::vector<std::string> probe_argv(const std::string& kind,
                                      const std::vector<std::string>& args) const {
    std::vector<std::string> argv{sanctum_binary(), "probe", kind};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  CommandResult probe(const std::string& kind, const std::vector<std::string>& args) {
    return run_command(probe_argv(kind, args), 20s);
  }

  fs::path log_path(const std::string& name = "probe.jsonl") const { return dir / name; }

  // Every line of a probe log, each checked to be a JSON object with
  // "transport": "mtls".
  std::vector<json> log_lines(const fs::path& path) const {
    std::vector<json> lines;
    std::istringstream text(read_text(path));
    std::string line;
    while (std::getline(text, line)) {
      json parsed = json::parse(line, nullptr, false);
      EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
      if (parsed.is_discarded()) {
        continue;
      }
      EXPECT_EQ(parsed.value("transport", ""), "mtls") << line;
      lines.push_back(std::move(parsed));
    }
    return lines;
  }

  // A copy of the CA state folder without `missing` (relative to it).
  fs::path cert_dir_without(const fs::path& missing) {
    fs::path copy = dir / "partial-certs";
    fs::remove_all(copy);
    fs::copy(cert_dir, copy, fs::copy_options::recursive);
    fs::remove(copy / missing);
    return copy;
  }
};

TEST_F(ProbeTest, GuardianOnceLogsModels) {
  auto gateway = start_gateway("gateway");
  auto flags = target_flags(gateway->https_url(""));
  flags.insert(flags.end(), {"--once", "--log", log_path().string()});
  auto result = probe("guardian", flags);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 1u);
  const json& line = lines[0];
  EXPECT_EQ(line["probe"], "guardian");
  EXPECT_EQ(line["target"], gateway->https_url(""));
  EXPECT_EQ(line["client"], TestPki::kGoodClient);
  EXPECT_TRUE(line["client_serial"].is_string());
  // TestPki leaves end about 3 days from now; whole days round down.
  int days_left = line["client_days_left"].get<int>();
  EXPECT_TRUE(days_left == 2 || days_left == 3) << days_left;
  EXPECT_EQ(line["ok"], true);
  EXPECT_EQ(line["http_status"], 200);
  EXPECT_GT(line["latency_ms"].get<double>(), 0);
  EXPECT_EQ(line["models"], json::array({"sanctum-echo"}));
  EXPECT_EQ(line["consecutive_failures"], 0);
  EXPECT_TRUE(line["error"].is_null());
  std::string warning = line.value("warning", "");
  EXPECT_NE(warning.find("expires in " + std::to_string(days_left) + " day(s)"), std::string::npos)
      << warning;
  ASSERT_TRUE(wait_until([&] { return gateway->access_records().size() == 1; }, 5s));
  EXPECT_EQ(gateway->access_records()[0]["client"], TestPki::kGoodClient);
}

TEST_F(ProbeTest, NoWarningWithFewerWarnDays) {
  auto gateway = start_gateway("gateway");
  auto flags = target_flags(gateway->https_url(""));
  flags.insert(flags.end(), {"--once", "--warn-days", "1", "--log", log_path().string()});
  auto result = probe("guardian", flags);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(lines[0].contains("warning")) << lines[0];
}

TEST_F(ProbeTest, LogDefaultsToStdout) {
  auto gateway = start_gateway("gateway");
  auto flags = target_flags(gateway->https_url(""));
  flags.push_back("--once");
  auto result = probe("guardian", flags);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  json line = json::parse(result.out);
  EXPECT_EQ(line["transport"], "mtls");
  EXPECT_EQ(line["ok"], true);
}

TEST_F(ProbeTest, CanaryStreamsAndTimesFirstToken) {
  auto gateway = start_gateway("gateway", {"--chunk-delay", "100ms"});
  auto flags = target_flags(gateway->https_url(""));
  flags.insert(flags.end(), {"--once", "--log", log_path().string(), "--prompt", "say OK"});
  auto result = probe("canary", flags);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 1u);
  const json& line = lines[0];
  EXPECT_EQ(line["probe"], "canary");
  EXPECT_EQ(line["ok"], true);
  EXPECT_EQ(line["model"], "sanctum-echo");
  EXPECT_EQ(line["models"], json::array({"sanctum-echo"}));
  EXPECT_EQ(line["answer"], "echo: say OK");
  EXPECT_EQ(line["stream_complete"], true);
  double ttft = line["ttft_ms"].get<double>();
  double total = line["latency_ms"].get<double>();
  EXPECT_GT(ttft, 0);
  // Three pieces 100 ms apart: the last arrives about 200 ms after the first.
  EXPECT_GE(total - ttft, 150) << line;
}

TEST_F(ProbeTest, CanaryUsesGivenModelAndTokenLimit) {
  auto gateway = start_gateway("gateway");
  auto flags = target_flags(gateway->https_url(""));
  flags.insert(flags.end(), {"--once", "--log", log_path().string(), "--model", "sanctum-echo",
                             "--max-tokens", "2", "--prompt", "one two three"});
  auto result = probe("canary", flags);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["answer"], "echo: one ");
  EXPECT_EQ(lines[0]["models"], json::array());  // no /v1/models request with --model
}

TEST_F(ProbeTest, CanaryFailsOnStreamWithoutDone) {
  StubModelServer stub({"sanctum-echo", "stub: ", false});
  auto gateway = start_gateway("gateway", {}, stub.url());
  auto flags = target_flags(gateway->https_url(""));
  flags.insert(flags.end(), {"--once", "--log", log_path().string()});
  auto result = probe("canary", flags);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["ok"], false);
  EXPECT_TRUE(lines[0]["error"].get<std::string>().starts_with("stream-incomplete")) << lines[0];
  EXPECT_EQ(lines[0]["stream_complete"], false);
}

TEST_F(ProbeTest, ParityPassesOnSameAnswers) {
  auto fast = start_gateway("fast");
  auto slow = start_gateway("slow", {"--chunk-delay", "30ms"});
  write_text(dir / "prompts.txt",
             "What is the capital of France?\n"
             "{\"id\": \"json-prompt\", \"prompt\": \"Reply with OK\"}\n");
  auto flags = target_flags(fast->https_url(""));
  flags.insert(flags.end(), {"--reference-url", slow->https_url(""), "--prompts",
                             (dir / "prompts.txt").string(), "--compare", "exact", "--log",
                             log_path().string()});
  auto result = probe("parity", flags);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 1u);
  const json& line = lines[0];
  EXPECT_EQ(line["probe"], "parity");
  EXPECT_EQ(line["ok"], true);
  EXPECT_EQ(line["reference"], slow->https_url(""));
  EXPECT_EQ(line["reference_client"], TestPki::kGoodClient);
  EXPECT_EQ(line["prompts"], 2);
  EXPECT_EQ(line["matched"], 2);
  EXPECT_EQ(line["mismatches"], json::array());
  EXPECT_EQ(line["compare"], "exact");
  // One /v1/models request and two completions on each side.
  EXPECT_TRUE(wait_until([&] { return fast->access_records().size() == 3; }, 5s));
  EXPECT_TRUE(wait_until([&] { return slow->access_records().size() == 3; }, 5s));
}

TEST_F(ProbeTest, ParityDetectsChangedAnswer) {
  StubModelServer stub({"sanctum-echo", "stub: ", true});
  auto echo = start_gateway("echo");
  auto changed = start_gateway("changed", {}, stub.url());
  write_text(dir / "prompts.txt", "hello there\n");
  auto flags = target_flags(changed->https_url(""));
  flags.insert(flags.end(), {"--reference-url", echo->https_url(""), "--prompts",
                             (dir / "prompts.txt").string(), "--log", log_path().string()});
  auto result = probe("parity", flags);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 1u);
  const json& line = lines[0];
  EXPECT_EQ(line["ok"], false);
  EXPECT_EQ(line["error"], "1 of 1 answers differ");
  ASSERT_EQ(line["mismatches"].size(), 1u);
  const json& mismatch = line["mismatches"][0];
  EXPECT_EQ(mismatch["kind"], "answer");
  EXPECT_EQ(mismatch["line"], 1);
  EXPECT_EQ(mismatch["target_answer"], "stub: hello there");
  EXPECT_EQ(mismatch["reference_answer"], "echo: hello there");
  EXPECT_EQ(mismatch["diff"],
            "first difference at byte 0: \"stub: hello there\" vs \"echo: hello there\"");
  EXPECT_DOUBLE_EQ(mismatch["similarity"].get<double>(), 0.667);
}

TEST_F(ProbeTest, ParitySimilarityToleratesSmallChange) {
  StubModelServer stub({"sanctum-echo", "stub: ", true});
  auto echo = start_gateway("echo");
  auto changed = start_gateway("changed", {}, stub.url());
  write_text(dir / "prompts.txt", "one two three four five six seven eight\n");
  auto flags = target_flags(changed->https_url(""));
  flags.insert(flags.end(), {"--reference-url", echo->https_url(""), "--prompts",
                             (dir / "prompts.txt").string(), "--compare", "similarity:0.85",
                             "--log", log_path().string()});
  auto result = probe("parity", flags);
  EXPECT_EQ(result.exit_code, 0) << result.err << read_text(log_path());
}

TEST_F(ProbeTest, ParityDetectsDifferentModelLists) {
  StubModelServer stub({"other-model", "echo: ", true});
  auto echo = start_gateway("echo");
  auto changed = start_gateway("changed", {}, stub.url());
  write_text(dir / "prompts.txt", "hello\n");
  auto flags = target_flags(changed->https_url(""));
  flags.insert(flags.end(), {"--reference-url", echo->https_url(""), "--prompts",
                             (dir / "prompts.txt").string(), "--log", log_path().string()});
  auto result = probe("parity", flags);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["error"], "model lists differ");
  const json& mismatch = lines[0]["mismatches"][0];
  EXPECT_EQ(mismatch["kind"], "models");
  EXPECT_EQ(mismatch["only_target"], json::array({"other-model"}));
  EXPECT_EQ(mismatch["only_reference"], json::array({"sanctum-echo"}));
}

struct MissingFileCase {
  const char* kind;
  const char* file;  // relative to the certificate folder
};

void PrintTo(const MissingFileCase& c, std::ostream* out) {
  *out << c.kind << " without " << c.file;
}

class ProbeMissingFile : public ProbeTest,
                         public ::testing::WithParamInterface<MissingFileCase> {};

TEST_P(ProbeMissingFile, ExitsTwoNamingPath) {
  auto gateway = start_gateway("gateway");
  fs::path partial = cert_dir_without(GetParam().file);
  write_text(dir / "prompts.txt", "hello\n");
  std::vector<std::string> flags{"--url", gateway->https_url(""), "--cert-dir", partial.string(),
                                 "--client", TestPki::kGoodClient, "--log",
                                 log_path().string()};
  std::string kind = GetParam().kind;
  if (kind == "parity") {
    flags.insert(flags.end(), {"--reference-url", gateway->https_url(""), "--prompts",
                               (dir / "prompts.txt").string()});
  } else {
    flags.push_back("--every");  // a loop checks its files before the first run too
    flags.push_back("100ms");
  }
  auto result = probe(kind, flags);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  std::string path = (partial / GetParam().file).string();
  EXPECT_NE(result.err.find(path + " not found"), std::string::npos) << result.err;
  EXPECT_TRUE(read_text(log_path()).empty());
  // Nothing reached the gateway: not even a TLS handshake.
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(gateway->access_records().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Files, ProbeMissingFile,
    ::testing::Values(MissingFileCase{"guardian", "ca.crt"},
                      MissingFileCase{"guardian", "clients/good-client.crt"},
                      MissingFileCase{"guardian", "clients/good-client.key"},
                      MissingFileCase{"canary", "ca.crt"},
                      MissingFileCase{"canary", "clients/good-client.key"},
                      MissingFileCase{"parity", "clients/good-client.crt"}),
    [](const auto& info) {
      std::string name = std::string(info.param.kind) + "_" + info.param.file;
      std::erase_if(name, [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); });
      return name;
    });

TEST_F(ProbeTest, UnreadableFileIsNotCalledMissing) {
  auto gateway = start_gateway("gateway");
  auto flags = target_flags(gateway->https_url(""));
  // A folder where the CA file should be: it exists but cannot be read.
  flags.insert(flags.end(), {"--ca", cert_dir.string(), "--once"});
  auto result = probe("guardian", flags);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find(cert_dir.string() + " is not readable"), std::string::npos)
      << result.err;
  EXPECT_TRUE(gateway->access_records().empty());
}

TEST_F(ProbeTest, PlainHttpUrlIsRejected) {
  auto gateway = start_gateway("gateway");
  auto flags = target_flags(gateway->http_url(""));
  flags.push_back("--once");
  for (const char* kind : {"guardian", "canary"}) {
    auto result = probe(kind, flags);
    EXPECT_EQ(result.exit_code, 2) << kind;
    EXPECT_NE(result.err.find("probes speak only mTLS"), std::string::npos) << result.err;
  }
  EXPECT_TRUE(gateway->access_records().empty());
}

TEST_F(ProbeTest, BadFlagsExitTwo) {
  write_text(dir / "prompts.txt", "hello\n");
  std::vector<std::vector<std::string>> cases{
      {"guardian", "--every", "soon"},
      {"guardian", "--once", "--every", "1s"},
      {"guardian", "--failures", "0"},
      {"canary", "--timeout", "0s"},
      {"parity", "--reference-url", "https://127.0.0.1:1", "--prompts",
       (dir / "prompts.txt").string(), "--compare", "similarity:2"},
      {"parity", "--reference-url", "https://127.0.0.1:1", "--prompts",
       (dir / "missing.txt").string()},
      {"parity", "--prompts", (dir / "prompts.txt").string()},
  };
  for (const auto& args : cases) {
    std::vector<std::string> argv{sanctum_binary(), "probe"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--cert-dir", cert_dir.string(), "--client", TestPki::kGoodClient});
    auto result = run_command(argv, 10s);
    EXPECT_EQ(result.exit_code, 2) << args[1] << " " << result.err;
  }
}

TEST_F(ProbeTest, WrongServerNameFailsProbe) {
  auto other = issue_server_cert(pki, "other", {"DNS:other.test"});
  auto gateway = start_gateway("gateway", {}, "echo", &other);
  auto flags = target_flags(gateway->https_url(""));
  flags.insert(flags.end(), {"--once", "--log", log_path().string()});
  for (const char* kind : {"guardian", "canary"}) {
    auto result = probe(kind, flags);
    EXPECT_EQ(result.exit_code, 1) << kind << result.err;
  }
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    EXPECT_EQ(line["ok"], false);
    EXPECT_EQ(line["error"],
              "server-name-mismatch: the server certificate is not valid for 127.0.0.1");
    EXPECT_TRUE(line["http_status"].is_null());
  }
}

TEST_F(ProbeTest, ExpiredClientCertificateFailsWithWarning) {
  auto gateway = start_gateway("gateway");
  auto flags = target_flags(gateway->https_url(""), TestPki::kExpiredClient);
  flags.insert(flags.end(), {"--once", "--log", log_path().string()});
  auto result = probe("guardian", flags);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0]["error"].get<std::string>().starts_with("tls-handshake: ")) << lines[0];
  EXPECT_LT(lines[0]["client_days_left"].get<int>(), 0);
  EXPECT_NE(lines[0]["warning"].get<std::string>().find("expired"), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return !gateway->access_records().empty(); }, 5s));
  EXPECT_EQ(gateway->access_records()[0]["error"], "expired");
}

TEST_F(ProbeTest, GuardianRestartsStoppedUpstreamWithinBudget) {
  auto stub = std::make_unique<StubModelServer>(StubModelServer::Options{});
  auto gateway = start_gateway("gateway", {}, stub->url());
  fs::path runs = dir / "restart-runs.txt";
  auto flags = target_flags(gateway->https_url(""));
  flags.insert(flags.end(),
               {"--every", "100ms", "--failures", "3", "--grace", "0s", "--backoff", "200ms",
                "--max-restarts", "2", "--restart-cmd",
                "echo run >> '" + runs.string() + "'; echo restarting the model server",
                "--log", log_path().string()});
  auto guardian = Process::start(probe_argv("guardian", flags), dir / "guardian.out",
                                 dir / "guardian.err");
  ASSERT_TRUE(wait_until([&] { return log_lines(log_path()).size() >= 2; }, 5s));
  stub.reset();  // the upstream stops: the gateway now returns 502
  bool spent = wait_until(
      [&] { return read_text(dir / "guardian.err").find("restart budget spent") != std::string::npos; },
      8s);
  std::this_thread::sleep_for(500ms);  // a few more ticks with the budget spent
  guardian.send_signal(SIGTERM);
  auto exit_code = guardian.wait(5s);
  ASSERT_TRUE(spent) << read_text(dir / "guardian.err");
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(read_text(runs), "run\nrun\n");

  auto lines = log_lines(log_path());
  EXPECT_EQ(lines.front()["ok"], true);
  std::vector<json> restarts;
  int budget_spent = 0;
  for (const auto& line : lines) {
    EXPECT_EQ(line["probe"], "guardian");
    if (line["action"] == "restart") {
      restarts.push_back(line);
    }
    if (line["action"] == "budget-spent") {
      ++budget_spent;
    }
  }
  ASSERT_EQ(restarts.size(), 2u);
  EXPECT_EQ(restarts[0]["consecutive_failures"], 3);
  EXPECT_EQ(restarts[0]["http_status"], 502);
  EXPECT_EQ(restarts[0]["restart"]["exit_code"], 0);
  EXPECT_EQ(restarts[0]["restart"]["output"], "restarting the model server\n");
  EXPECT_EQ(restarts[1]["restarts_in_window"], 2);
  EXPECT_GE(budget_spent, 1);
  std::string err = read_text(dir / "guardian.err");
  EXPECT_NE(err.find("restarting the model server"), std::string::npos) << err;
}

TEST_F(ProbeTest, GuardianLeavesServerAloneInGrace) {
  fs::path runs = dir / "restart-runs.txt";
  auto flags = target_flags("https://127.0.0.1:" + std::to_string(closed_port()));
  flags.insert(flags.end(), {"--every", "100ms", "--failures", "1", "--grace", "30s",
                             "--restart-cmd", "echo run >> '" + runs.string() + "'", "--log",
                             log_path().string()});
  auto guardian = Process::start(probe_argv("guardian", flags), dir / "guardian.out",
                                 dir / "guardian.err");
  ASSERT_TRUE(wait_until([&] { return log_lines(log_path()).size() >= 4; }, 5s));
  guardian.send_signal(SIGINT);
  EXPECT_EQ(guardian.wait(5s), 0);
  EXPECT_FALSE(fs::exists(runs));
  for (const auto& line : log_lines(log_path())) {
    EXPECT_EQ(line["action"], "grace");
    EXPECT_TRUE(line["error"].get<std::string>().starts_with("connect-refused")) << line;
  }
}

TEST_F(ProbeTest, GuardianOnceNeverRestarts) {
  fs::path runs = dir / "restart-runs.txt";
  auto flags = target_flags("https://127.0.0.1:" + std::to_string(closed_port()));
  flags.insert(flags.end(), {"--once", "--failures", "1", "--grace", "0s", "--restart-cmd",
                             "echo run >> '" + runs.string() + "'", "--log", log_path().string()});
  auto result = probe("guardian", flags);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_FALSE(fs::exists(runs));
  auto lines = log_lines(log_path());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["ok"], false);
  EXPECT_EQ(lines[0]["consecutive_failures"], 1) << "a failed single run is one failure";
}

}  // namespace
}  // namespace sanctum::test
