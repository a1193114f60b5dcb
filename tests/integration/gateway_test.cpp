// End-to-end tests of `sanctum serve`: the real binary on ephemeral loopback
// ports, certificates made at test time, curl and openssl as clients, and a
// fake model server behind the gateway.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <ostream>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fake_upstream.hpp"
#include "support/gateway.hpp"
#include "support/network_namespace.hpp"
#include "support/openssl_pki.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace sanctum::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class GatewayTest : public ::testing::Test {
 protected:
  TempDir dir;
  TestPki pki{dir / "pki"};
  FakeUpstream upstream;

  std::vector<std::string> tls_flags() const {
    return {"--cert", pki.server_cert().string(), "--key", pki.server_key().string(),
            "--client-ca", pki.ca_cert().string()};
  }

  // Starts a gateway with one mTLS listener on 127.0.0.1:0 in front of the
  // fake upstream (or `upstream_url`), plus `extra` flags.
  std::unique_ptr<GatewayProcess> start(std::vector<std::string> extra = {},
                                        std::string upstream_url = "") {
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--upstream",
                                  upstream_url.empty() ? upstream.url() : upstream_url,
                                  "--threads", "2"};
    auto flags = tls_flags();
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), extra.begin(), extra.end());
    auto gateway = std::make_unique<GatewayProcess>(dir.path(), args);
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  std::vector<std::string> client_flags(const std::string& name = TestPki::kGoodClient) const {
    return {"--cacert", pki.ca_cert().string(), "--cert", pki.client_cert(name).string(), "--key",
            pki.client_key(name).string()};
  }

  CommandResult mtls_curl(const GatewayProcess& gateway, const std::string& path,
                          std::vector<std::string> extra = {},
                          const std::string& client = TestPki::kGoodClient) {
    auto args = client_flags(client);
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(gateway.https_url(path));
    return curl(args);
  }

  std::string write_config(const std::string& body) {
    auto path = dir / "sanctum.toml";
    std::string text = "[tls]\ncert = \"" + pki.server_cert().string() + "\"\nkey = \"" +
                       pki.server_key().string() + "\"\nclient_ca = \"" +
                       pki.ca_cert().string() + "\"\n" + body;
    write_text(path, text);
    return path.string();
  }
};

// Splits "-w '\n%{http_code}'" output into body and status.
std::pair<std::string, int> body_and_status(const std::string& out) {
  auto newline = out.rfind('\n');
  if (newline == std::string::npos) {
    return {"", std::atoi(out.c_str())};
  }
  return {out.substr(0, newline), std::atoi(out.c_str() + newline + 1)};
}

TEST_F(GatewayTest, MtlsClientGetsModelList) {
  auto gateway = start({}, "echo");
  auto result = mtls_curl(*gateway, "/v1/models");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto models = json::parse(result.out);
  EXPECT_EQ(models["data"][0]["id"], "sanctum-echo");
}

TEST_F(GatewayTest, CertificatesFromOpensslCliWork) {
  OpensslPki other(dir / "openssl");
  auto gateway = std::make_unique<GatewayProcess>(
      dir.path(), std::vector<std::string>{"--listen", "127.0.0.1:0", "--upstream", "echo", "--cert",
                                           other.server_cert().string(), "--key",
                                           other.server_key().string(), "--client-ca",
                                           other.ca_cert().string()});
  ASSERT_TRUE(gateway->wait_ready()) << gateway->log();
  auto result = curl({"--cacert", other.ca_cert().string(), "--cert",
                      other.cert("demo-client").string(), "--key",
                      other.key("demo-client").string(), gateway->https_url("/v1/models")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("sanctum-echo"), std::string::npos);
}

struct RefusedCase {
  const char* client;  // nullptr: no certificate at all
  const char* reason;  // as the access log names it
};

// Names the case in test output instead of its bytes.
void PrintTo(const RefusedCase& c, std::ostream* out) { *out << c.reason; }

class HandshakeRefusal : public GatewayTest, public ::testing::WithParamInterface<RefusedCase> {};

TEST_P(HandshakeRefusal, EndsHandshakeWithReason) {
  auto gateway = start();
  std::vector<std::string> args{"--cacert", pki.ca_cert().string()};
  if (GetParam().client != nullptr) {
    args = client_flags(GetParam().client);
  }
  args.push_back(gateway->https_url("/v1/models"));
  auto result = curl(args);
  // curl's exit code is non-zero for a failed handshake and it prints no
  // HTTP body: the request never reached HTTP.
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(result.out.empty()) << result.out;
  EXPECT_TRUE(upstream.requests().empty());
  ASSERT_TRUE(wait_until([&] { return !gateway->access_records().empty(); }, 5s));
  auto record = gateway->access_records().back();
  EXPECT_EQ(record["outcome"], "rejected");
  EXPECT_EQ(record["error"], GetParam().reason);
  EXPECT_EQ(record["transport"], "mtls");
}

INSTANTIATE_TEST_SUITE_P(
    Clients, HandshakeRefusal,
    ::testing::Values(RefusedCase{nullptr, "no-certificate"},
                      RefusedCase{TestPki::kForeignClient, "unknown-ca"},
                      RefusedCase{TestPki::kExpiredClient, "expired"},
                      RefusedCase{TestPki::kNotYetValidClient, "not-yet-valid"},
                      RefusedCase{TestPki::kServerAuthClient, "wrong-usage"},
                      RefusedCase{TestPki::kNoEkuClient, "wrong-usage"}),
    [](const auto& info) {
      std::string name = info.param.client == nullptr ? "NoCertificate" : info.param.client;
      std::erase(name, '-');
      return name;
    });

TEST_F(GatewayTest, RevokedClientRefusedWithCrl) {
  auto gateway = start({"--crl", pki.crl().string()});
  auto revoked = mtls_curl(*gateway, "/v1/models", {}, TestPki::kRevokedClient);
  EXPECT_NE(revoked.exit_code, 0);
  auto good = mtls_curl(*gateway, "/v1/models");
  EXPECT_EQ(good.exit_code, 0) << good.err;
  ASSERT_TRUE(wait_until([&] { return gateway->access_records().size() >= 2; }, 5s));
  auto records = gateway->access_records();
  EXPECT_EQ(records.front()["error"], "revoked");
}

TEST_F(GatewayTest, IntermediateSignedClientAccepted) {
  auto gateway = start();
  auto result = curl({"--cacert", pki.ca_cert().string(), "--cert",
                      pki.client_chain(TestPki::kIntermediateClient).string(), "--key",
                      pki.client_key(TestPki::kIntermediateClient).string(),
                      gateway->https_url("/anything")});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"ok\":true}");
}

// The gateway frees the certificates a client sends after its own once the
// handshake is done; the connection keeps serving requests afterwards.
TEST_F(GatewayTest, ChainSendingClientKeepsConnection) {
  auto gateway = start();
  auto result = curl({"--cacert", pki.ca_cert().string(), "--cert",
                      pki.client_chain(TestPki::kIntermediateClient).string(), "--key",
                      pki.client_key(TestPki::kIntermediateClient).string(), "-w", "%{num_connects}\n",
                      gateway->https_url("/anything"), gateway->https_url("/anything"),
                      gateway->https_url("/anything")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"ok\":true}1\n{\"ok\":true}0\n{\"ok\":true}0\n");
  ASSERT_TRUE(wait_until([&] { return gateway->access_records().size() >= 3; }, 5s));
  for (const auto& record : gateway->access_records()) {
    EXPECT_EQ(record["client"], TestPki::kIntermediateClient) << record.dump();
  }
}

TEST_F(GatewayTest, PlainHttpOnTlsPortNeverGets2xx) {
  auto gateway = start();
  auto result = curl({"-w", "\n%{http_code}", gateway->http_url("/v1/models")});
  auto [body, status] = body_and_status(result.out);
  EXPECT_EQ(status, 400);
  auto error = json::parse(body);
  EXPECT_EQ(error["error"]["code"], "tls_required");
  EXPECT_TRUE(upstream.requests().empty());
  ASSERT_TRUE(wait_until([&] { return !gateway->access_records().empty(); }, 5s));
  auto record = gateway->access_records().back();
  EXPECT_EQ(record["transport"], "plain-on-tls");
  EXPECT_EQ(record["error"], "tls-required");
  EXPECT_EQ(record["bytes_out"], body.size());
}

TEST_F(GatewayTest, OpensslClientWithoutCertificateIsRefused) {
  auto gateway = start();
  auto result = run_command({"sh", "-c",
                             "printf 'GET /v1/models HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | "
                             "openssl s_client -quiet -connect 127.0.0.1:" +
                                 std::to_string(gateway->port()) + " -CAfile " +
                                 pki.ca_cert().string()},
                            15s);
  EXPECT_EQ(result.out.find("HTTP/1.1 200"), std::string::npos) << result.out;
  EXPECT_NE(result.err.find("alert"), std::string::npos) << result.err;
  EXPECT_TRUE(upstream.requests().empty());
}

TEST_F(GatewayTest, SseEventsArriveAsUpstreamSpacesThem) {
  auto gateway = start();
  auto args = std::vector<std::string>{"curl", "-sS", "-N", "--max-time", "20"};
  auto flags = client_flags();
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back(gateway->https_url("/sse?events=5&gap_ms=250"));
  auto client = Process::start_piped(args, dir / "curl.err");

  std::vector<std::int64_t> arrivals;
  std::vector<std::int64_t> emits;
  bool saw_keepalive = false;
  bool saw_done = false;
  while (auto line = client.read_line(10s)) {
    std::int64_t now = unix_now_ns();
    if (line->rfind(": keepalive", 0) == 0) {
      saw_keepalive = true;
    } else if (*line == "data: [DONE]") {
      saw_done = true;
    } else if (line->rfind("data: ", 0) == 0) {
      arrivals.push_back(now);
      emits.push_back(json::parse(line->substr(6))["emit_ns"].get<std::int64_t>());
    }
  }
  EXPECT_TRUE(saw_keepalive);
  EXPECT_TRUE(saw_done);
  ASSERT_EQ(arrivals.size(), 5u);
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    // Each event reaches the client well before the next one is emitted.
    EXPECT_LT(arrivals[i] - emits[i], 150'000'000) << "event " << i << " was held back";
    if (i > 0) {
      EXPECT_GT(arrivals[i] - arrivals[i - 1], 150'000'000) << "events " << i - 1 << " and " << i
                                                           << " arrived together";
    }
  }
}

TEST_F(GatewayTest, CloseDelimitedHttp10StreamArrivesChunked) {
  auto gateway = start();
  auto result = mtls_curl(*gateway, "/http10?events=4&gap_ms=20", {"-D", "-"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::transform(result.out.begin(), result.out.end(), result.out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  EXPECT_NE(result.out.find("http/1.1 200"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("transfer-encoding: chunked"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\"index\":3"), std::string::npos);
  EXPECT_NE(result.out.find("data: [done]"), std::string::npos);
  // The client can see the last chunk before the gateway writes the record.
  ASSERT_TRUE(wait_until([&] { return !gateway->access_records().empty(); }, 5s));
  auto record = gateway->access_records().back();
  EXPECT_EQ(record["outcome"], "complete");
}

// A response as it crossed the wire: the head up to and including its last
// field's CRLF, and the body bytes after the empty line. `head` is empty
// when no empty line arrived, and `body` then has every byte received.
struct RawResponse {
  std::string head;
  std::string body;
};

// Sends `request` as written through `openssl s_client` with the good
// client's certificate and returns the response bytes, framing included.
// The request must end the connection (Connection: close or HTTP/1.0),
// because s_client reads until the gateway closes.
RawResponse raw_response(const GatewayProcess& gateway, const TestPki& pki,
                         const std::filesystem::path& dir, const std::string& request) {
  auto file = dir / "raw-request.txt";
  write_text(file, request);
  auto result = run_command(
      {"sh", "-c",
       "openssl s_client -quiet -connect 127.0.0.1:" + std::to_string(gateway.port()) +
           " -CAfile " + pki.ca_cert().string() + " -cert " +
           pki.client_cert(TestPki::kGoodClient).string() + " -key " +
           pki.client_key(TestPki::kGoodClient).string() + " < " + file.string()},
      15s);
  auto head_end = result.out.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return {"", result.out};
  }
  return {result.out.substr(0, head_end + 2), result.out.substr(head_end + 4)};
}

// Decodes a chunked body and fails the test on a malformed size line.
std::string decode_chunked(std::string_view body) {
  std::string out;
  for (;;) {
    auto line_end = body.find("\r\n");
    if (line_end == std::string_view::npos) {
      ADD_FAILURE() << "chunk size line without CRLF";
      return out;
    }
    std::size_t size = std::stoul(std::string(body.substr(0, line_end)), nullptr, 16);
    body.remove_prefix(line_end + 2);
    if (size == 0) {
      EXPECT_EQ(body, "\r\n") << "bytes after the last chunk";
      return out;
    }
    out += body.substr(0, size);
    body.remove_prefix(size);
    EXPECT_EQ(body.substr(0, 2), "\r\n") << "chunk not followed by CRLF";
    body.remove_prefix(2);
  }
}

TEST_F(GatewayTest, ChunkedStreamFramingOnTheWire) {
  auto gateway = start();
  auto raw = raw_response(*gateway, pki, dir.path(),
                          "GET /sse?events=3&gap_ms=20 HTTP/1.1\r\nHost: x\r\n"
                          "Connection: close\r\n\r\n");
  ASSERT_FALSE(raw.head.empty()) << raw.body;
  EXPECT_EQ(raw.head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw.head;
  EXPECT_NE(raw.head.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << raw.head;
  std::string body = decode_chunked(raw.body);
  EXPECT_EQ(body.rfind(": keepalive", 0), 0u) << body;
  EXPECT_NE(body.find("\"index\":2"), std::string::npos) << body;
  EXPECT_TRUE(body.ends_with("data: [DONE]\n\n")) << body;
}

// The indexes of the "data: {...}" events in `body`, in order.
std::vector<int> event_indexes(const std::string& body) {
  std::vector<int> indexes;
  static const std::string kMarker = "\"index\":";
  for (auto at = body.find(kMarker); at != std::string::npos; at = body.find(kMarker, at + 1)) {
    indexes.push_back(std::stoi(body.substr(at + kMarker.size())));
  }
  return indexes;
}

// A whole stream that arrives in one read contains hundreds of chunks. The
// gateway relays them in rounds of a few pieces each, every event once and
// in order.
TEST_F(GatewayTest, ChunkBurstArrivesInOrder) {
  constexpr int kEvents = 300;
  auto gateway = start();
  std::vector<int> expected(kEvents);
  std::iota(expected.begin(), expected.end(), 0);

  auto chunked = raw_response(*gateway, pki, dir.path(),
                              "GET /sse?burst=1&events=300 HTTP/1.1\r\nHost: x\r\n"
                              "Connection: close\r\n\r\n");
  ASSERT_FALSE(chunked.head.empty()) << chunked.body;
  std::string body = decode_chunked(chunked.body);
  EXPECT_EQ(event_indexes(body), expected);
  EXPECT_TRUE(body.ends_with("data: [DONE]\n\n")) << body.substr(body.size() - 100);

  auto close_delimited = raw_response(*gateway, pki, dir.path(),
                                      "GET /sse?burst=1&events=300 HTTP/1.0\r\nHost: x\r\n\r\n");
  ASSERT_FALSE(close_delimited.head.empty()) << close_delimited.body;
  EXPECT_EQ(event_indexes(close_delimited.body), expected);
  EXPECT_TRUE(close_delimited.body.ends_with("data: [DONE]\n\n"));
}

// Chunks the upstream frames the gateway's way leave as the upstream sent
// them; others, here with leading zeros and an extension, are framed anew.
// Either way the client gets plain chunk size lines and every event.
TEST_F(GatewayTest, UnusualChunkFramingIsRebuilt) {
  auto gateway = start();
  std::vector<int> expected(40);
  std::iota(expected.begin(), expected.end(), 0);
  for (const char* target : {"/sse?burst=1&events=40", "/sse?burst=1&unusual=1&events=40",
                             "/sse?events=40"}) {
    auto raw = raw_response(*gateway, pki, dir.path(),
                            std::string("GET ") + target +
                                " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ASSERT_FALSE(raw.head.empty()) << target << ": " << raw.body;
    EXPECT_EQ(raw.body.find(";source="), std::string::npos) << target;
    EXPECT_EQ(raw.body.find("\r\n00"), std::string::npos) << target;
    std::string body = decode_chunked(raw.body);
    EXPECT_EQ(event_indexes(body), expected) << target;
    EXPECT_TRUE(body.ends_with("data: [DONE]\n\n")) << target;
  }
}

TEST_F(GatewayTest, Http10ClientGetsCloseDelimitedStream) {
  auto gateway = start();
  auto raw = raw_response(*gateway, pki, dir.path(),
                          "GET /sse?events=2 HTTP/1.0\r\nHost: x\r\n\r\n");
  ASSERT_FALSE(raw.head.empty()) << raw.body;
  EXPECT_EQ(raw.head.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << raw.head;
  EXPECT_EQ(raw.head.find("Transfer-Encoding"), std::string::npos) << raw.head;
  EXPECT_EQ(raw.body.rfind(": keepalive", 0), 0u) << raw.body;
  EXPECT_TRUE(raw.body.ends_with("data: [DONE]\n\n")) << raw.body;
}

TEST_F(GatewayTest, BodilessAndHeadResponsesKeepTheConnection) {
  auto gateway = start();
  auto flags = client_flags();
  // One curl run, URLs separated by --next, so they share a connection.
  std::vector<std::string> args;
  auto add = [&](const std::string& path, std::vector<std::string> extra) {
    if (!args.empty()) {
      args.push_back("--next");
    }
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"-w", "|%{http_code} %{num_connects}\n", gateway->https_url(path)});
  };
  add("/bytes?n=100", {"-I"});
  add("/status?code=204", {});
  add("/status?code=299&reason=Fine_Thing", {"-D", "-"});
  add("/v1/models", {});
  auto result = curl(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Content-Length: 100\r\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("|200 1\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("|204 0\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("HTTP/1.1 299 Fine Thing\r\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("|299 0\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("{\"ok\":true}|200 0\n"), std::string::npos) << result.out;
}

TEST_F(GatewayTest, ChunkedRequestBodyReachesUpstreamWithContentLength) {
  auto gateway = start();
  std::string body(5000, 'x');
  write_text(dir / "body.txt", body);
  auto result = mtls_curl(*gateway, "/inspect",
                          {"-H", "Transfer-Encoding: chunked", "--data-binary",
                           "@" + (dir / "body.txt").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto seen = json::parse(result.out);
  EXPECT_EQ(seen["body_size"], 5000);
  EXPECT_EQ(seen["headers"]["content-length"], "5000");
  EXPECT_FALSE(seen["headers"].contains("transfer-encoding"));
}

TEST_F(GatewayTest, RequestGetsUpstreamHostAndGatewayIdentity) {
  auto gateway = start();
  auto result = mtls_curl(*gateway, "/inspect",
                          {"-H", "X-Sanctum-Client: forged-admin", "-H", "Host: evil.example"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto seen = json::parse(result.out);
  EXPECT_EQ(seen["headers"]["host"], "127.0.0.1:" + std::to_string(upstream.port()));
  EXPECT_EQ(seen["headers"]["x-sanctum-client"], TestPki::kGoodClient);
}

TEST_F(GatewayTest, AllowListRefusesOtherClients) {
  auto gateway = start({"--allow", TestPki::kUriClient});
  auto refused = mtls_curl(*gateway, "/v1/models", {"-w", "\n%{http_code}"});
  EXPECT_EQ(body_and_status(refused.out).second, 403);
  auto allowed = mtls_curl(*gateway, "/anything", {"-w", "\n%{http_code}"}, TestPki::kUriClient);
  EXPECT_EQ(body_and_status(allowed.out).second, 200);
  EXPECT_EQ(upstream.requests().size(), 1u);
}

TEST_F(GatewayTest, ClientDisconnectClosesUpstreamWithinASecond) {
  auto gateway = start();
  auto args = client_flags();
  args.insert(args.begin(), {"--max-time", "1"});
  args.push_back(gateway->https_url("/hang"));
  std::vector<std::string> argv{"curl", "-sS", "-N"};
  argv.insert(argv.end(), args.begin(), args.end());
  run_command(argv, 10s);
  auto client_gone = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until(
      [&] { return upstream.hang_closed_at() != std::chrono::steady_clock::time_point{}; }, 5s));
  EXPECT_LT(upstream.hang_closed_at() - client_gone, 1s);
  ASSERT_TRUE(wait_until([&] { return !gateway->access_records().empty(); }, 5s));
  EXPECT_EQ(gateway->access_records().back()["outcome"], "client-cancel");
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A rate-limited client fills the gateway's socket buffer, so TLS writes
// block mid-record and are finished later: the bytes must still arrive
// whole, in order and once.
class LargeResponse : public GatewayTest, public ::testing::WithParamInterface<bool> {};

TEST_P(LargeResponse, ReachesSlowClientIntact) {
  bool chunked = GetParam();
  constexpr std::size_t kSize = 6 * 1024 * 1024 + 12345;
  auto gateway = start();
  auto file = dir / "large.bin";
  auto result = mtls_curl(*gateway,
                          "/bytes?n=" + std::to_string(kSize) + "&chunked=" + (chunked ? "1" : "0"),
                          {"--limit-rate", "12M", "-o", file.string(), "-w", "%{http_code}"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "200");
  std::string got = read_all(file);
  ASSERT_EQ(got.size(), kSize);
  EXPECT_TRUE(got == pattern_bytes(kSize)) << "relayed bytes differ from what the upstream sent";
  ASSERT_TRUE(wait_until([&] { return !gateway->access_records().empty(); }, 5s));
  EXPECT_EQ(gateway->access_records().back()["outcome"], "complete");
  EXPECT_EQ(gateway->access_records().back()["bytes_out"], kSize);
}

INSTANTIATE_TEST_SUITE_P(Framing, LargeResponse, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Chunked" : "ContentLength"; });

TEST_F(GatewayTest, LargeRequestBodyReachesUpstreamIntact) {
  constexpr std::size_t kSize = 3 * 1024 * 1024 + 77;
  auto gateway = start();
  write_text(dir / "body.bin", pattern_bytes(kSize));
  auto result = mtls_curl(*gateway, "/inspect",
                          {"-H", "Content-Type: application/octet-stream", "--data-binary",
                           "@" + (dir / "body.bin").string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json::parse(result.out)["body_size"], kSize);
  auto requests = upstream.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_TRUE(requests.back().body == pattern_bytes(kSize))
      << "the upstream got other bytes than the client sent";
}

// curl sends Expect: 100-continue with bodies over 1 MiB. The gateway
// responds to it and forwards the whole request, so the upstream's own 100 can
// never be mistaken for the final response.
TEST_F(GatewayTest, ExpectContinueUploadGetsFinalResponse) {
  auto gateway = start();
  write_text(dir / "upload.bin", pattern_bytes(64 * 1024));
  auto result = mtls_curl(*gateway, "/inspect",
                          {"-H", "Expect: 100-continue", "--max-time", "10", "--data-binary",
                           "@" + (dir / "upload.bin").string(), "-w", "\n%{http_code}"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto [body, status] = body_and_status(result.out);
  EXPECT_EQ(status, 200) << result.out;
  EXPECT_EQ(json::parse(body)["body_size"], 64 * 1024);
  auto requests = upstream.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().headers.count("expect"), 0u);
}

// Connection, the fields it names, Keep-Alive, Proxy-Connection, TE and
// Upgrade belong to one hop: neither the upstream nor the client sees them
// from the other side, and every other field passes.
TEST_F(GatewayTest, HopByHopFieldsStayOnTheirHop) {
  auto gateway = start();
  auto sent = mtls_curl(*gateway, "/inspect",
                        {"-H", "Connection: keep-alive, X-Client-Hop", "-H", "X-Client-Hop: 1",
                         "-H", "Keep-Alive: timeout=5", "-H", "Proxy-Connection: keep-alive",
                         "-H", "TE: trailers", "-H", "X-Kept: yes"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  auto requests = upstream.requests();
  ASSERT_FALSE(requests.empty());
  const auto& forwarded = requests.back().headers;
  for (const char* name : {"connection", "x-client-hop", "keep-alive", "proxy-connection", "te"}) {
    EXPECT_EQ(forwarded.count(name), 0u) << name << " reached the upstream";
  }
  EXPECT_EQ(forwarded.count("x-kept"), 1u);

  auto received = mtls_curl(*gateway, "/hop", {"-D", "-"});
  ASSERT_EQ(received.exit_code, 0) << received.err;
  std::string head = received.out;
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const char* field : {"x-upstream-hop:", "keep-alive:", "upgrade:", "connection:"}) {
    EXPECT_EQ(head.find(field), std::string::npos) << field << " reached the client:\n" << head;
  }
  EXPECT_NE(head.find("x-kept: yes"), std::string::npos) << head;
}

TEST_F(GatewayTest, InterimUpstreamResponsesAreNotRelayed) {
  auto gateway = start();
  auto result = mtls_curl(*gateway, "/interim", {"--max-time", "10", "-w", "\n%{http_code}"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto [body, status] = body_and_status(result.out);
  EXPECT_EQ(status, 200) << result.out;
  EXPECT_EQ(body, "{\"final\":true}\n");
  ASSERT_TRUE(wait_until([&] { return !gateway->access_records().empty(); }, 5s));
  EXPECT_EQ(gateway->access_records().back()["status"], 200);
}

TEST_F(GatewayTest, UpstreamCutEndsStreamWithoutDone) {
  auto gateway = start();
  auto result = mtls_curl(*gateway, "/cut?events=2");
  EXPECT_NE(result.exit_code, 0) << "curl must see a truncated response";
  EXPECT_EQ(result.out.find("[DONE]"), std::string::npos);
  EXPECT_NE(result.out.find("\"index\":1"), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return !gateway->access_records().empty(); }, 5s));
  EXPECT_EQ(gateway->access_records().back()["outcome"], "upstream-cut");
}

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST_F(GatewayTest, UpstreamDownGives502Json) {
  auto gateway = start({}, "http://127.0.0.1:" + std::to_string(closed_port()));
  auto result = mtls_curl(*gateway, "/v1/models", {"-w", "\n%{http_code}"});
  auto [body, status] = body_and_status(result.out);
  EXPECT_EQ(status, 502);
  auto error = json::parse(body);
  EXPECT_EQ(error["error"]["code"], "upstream_unreachable");
  EXPECT_NE(error["error"]["message"].get<std::string>().find("unreachable"), std::string::npos);
}

TEST_F(GatewayTest, SlowUpstreamGives504) {
  auto config = write_config(
      "[timeouts]\nupstream_first_byte = \"300ms\"\n[[listener]]\nname = \"m\"\nbind = "
      "\"127.0.0.1:0\"\nupstream = \"" +
      upstream.url() + "\"\n");
  GatewayProcess gateway(dir.path(), {"--config", config});
  ASSERT_TRUE(gateway.wait_ready()) << gateway.log();
  auto result = mtls_curl(gateway, "/slow?ms=2000", {"-w", "\n%{http_code}"});
  auto [body, status] = body_and_status(result.out);
  EXPECT_EQ(status, 504);
  EXPECT_EQ(json::parse(body)["error"]["code"], "upstream_timeout");
}

TEST_F(GatewayTest, OversizedBodyGets413AndHeadersGet431) {
  auto config = write_config(
      "[limits]\nmax_body_bytes = 1024\nmax_header_bytes = 2048\n[[listener]]\nname = "
      "\"m\"\nbind = \"127.0.0.1:0\"\nupstream = \"" +
      upstream.url() + "\"\n");
  GatewayProcess gateway(dir.path(), {"--config", config});
  ASSERT_TRUE(gateway.wait_ready()) << gateway.log();

  write_text(dir / "big.txt", std::string(4096, 'x'));
  auto big = mtls_curl(gateway, "/inspect",
                       {"-w", "\n%{http_code}", "--data-binary", "@" + (dir / "big.txt").string()});
  auto [body, status] = body_and_status(big.out);
  EXPECT_EQ(status, 413);
  EXPECT_EQ(json::parse(body)["error"]["code"], "body_too_large");
  EXPECT_EQ(json::parse(body)["error"]["message"],
            "request body exceeds 1024 bytes (limits.max_body_bytes)");
  ASSERT_TRUE(wait_until([&] { return !gateway.access_records().empty(); }, 5s));
  EXPECT_EQ(gateway.access_records().back()["method"], "POST");
  EXPECT_EQ(gateway.access_records().back()["path"], "/inspect");

  auto headers = mtls_curl(gateway, "/inspect",
                           {"-w", "\n%{http_code}", "-H", "X-Padding: " + std::string(4096, 'p')});
  auto [hbody, hstatus] = body_and_status(headers.out);
  EXPECT_EQ(hstatus, 431);
  EXPECT_EQ(json::parse(hbody)["error"]["code"], "headers_too_large");
  EXPECT_EQ(json::parse(hbody)["error"]["message"],
            "request headers exceed 2048 bytes (limits.max_header_bytes)");
  EXPECT_TRUE(upstream.requests().empty());
}

TEST_F(GatewayTest, SlowClientGets408) {
  auto config = write_config(
      "[timeouts]\nrequest_head = \"500ms\"\n[[listener]]\nname = \"m\"\nbind = "
      "\"127.0.0.1:0\"\nupstream = \"" +
      upstream.url() + "\"\n");
  GatewayProcess gateway(dir.path(), {"--config", config});
  ASSERT_TRUE(gateway.wait_ready()) << gateway.log();
  // Half a request head, then silence past the limit.
  auto result = run_command(
      {"sh", "-c",
       "(printf 'GET /v1/models HTTP/1.1\\r\\nHost: x\\r\\n'; sleep 2) | openssl s_client "
       "-quiet -connect 127.0.0.1:" +
           std::to_string(gateway.port()) + " -CAfile " + pki.ca_cert().string() + " -cert " +
           pki.client_cert(TestPki::kGoodClient).string() + " -key " +
           pki.client_key(TestPki::kGoodClient).string()},
      15s);
  EXPECT_NE(result.out.find("HTTP/1.1 408"), std::string::npos) << result.out << result.err;
  EXPECT_NE(result.out.find("request_timeout"), std::string::npos);
  EXPECT_TRUE(upstream.requests().empty());
}

TEST_F(GatewayTest, AccessLogRecordsExchangeFields) {
  auto gateway = start();
  ASSERT_EQ(mtls_curl(*gateway, "/sse?events=2").exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return !gateway->access_records().empty(); }, 5s));
  auto record = gateway->access_records().back();
  EXPECT_EQ(record["listener"], "serve");
  EXPECT_EQ(record["transport"], "mtls");
  EXPECT_EQ(record["client"], TestPki::kGoodClient);
  EXPECT_EQ(record["method"], "GET");
  EXPECT_EQ(record["path"], "/sse");
  EXPECT_EQ(record["status"], 200);
  EXPECT_GT(record["bytes_out"].get<int>(), 0);
  EXPECT_GE(record["upstream_ttfb_ms"].get<double>(), 0);
  EXPECT_EQ(record["outcome"], "complete");
  EXPECT_TRUE(record["peer"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
  EXPECT_EQ(record["time"].get<std::string>().size(), 24u) << record["time"];
  EXPECT_EQ(gateway->log().find("Authorization"), std::string::npos);
}

TEST_F(GatewayTest, KeepAliveReusesUpstreamConnection) {
  auto gateway = start();
  auto flags = client_flags();
  std::vector<std::string> args = flags;
  args.insert(args.end(), {gateway->https_url("/one"), gateway->https_url("/two"),
                           gateway->https_url("/three")});
  auto result = curl(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(upstream.requests().size(), 3u);
  EXPECT_EQ(upstream.connections_opened(), 1);
}

// An upstream connection that sent more than its response is not reused,
// because more such bytes may follow. The next request goes out on a new
// connection and gets its own response.
TEST_F(GatewayTest, TrailingUpstreamBytesCloseConnection) {
  auto gateway = start();
  auto flags = client_flags();
  std::vector<std::string> args = flags;
  args.insert(args.end(), {"-w", "|%{http_code}\n", gateway->https_url("/trailing"), "-w",
                           "|%{http_code}\n", gateway->https_url("/two")});
  auto result = curl(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"ok\":true}|200\n{\"ok\":true}|200\n");
  EXPECT_EQ(upstream.requests().size(), 2u);
  EXPECT_EQ(upstream.connections_opened(), 2);
}

TEST_F(GatewayTest, Ipv6LoopbackListenerServes) {
  auto gateway = std::make_unique<GatewayProcess>(
      dir.path(), std::vector<std::string>{"--listen", "[::1]:0", "--upstream", upstream.url(),
                                           "--cert", pki.server_cert().string(), "--key",
                                           pki.server_key().string(), "--client-ca",
                                           pki.ca_cert().string()});
  ASSERT_TRUE(gateway->wait_ready()) << gateway->log();
  auto flags = client_flags();
  flags.push_back("https://[::1]:" + std::to_string(gateway->port()) + "/x");
  auto result = curl(flags);
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(GatewayTest, PortInUseNamesHolderPid) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  std::string port = std::to_string(ntohs(address.sin_port));

  auto args = tls_flags();
  std::vector<std::string> argv{sanctum_binary(), "serve", "--listen", "127.0.0.1:" + port,
                                "--upstream", "echo"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run_command(argv, 15s);
  ::close(fd);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("127.0.0.1:" + port), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("pid " + std::to_string(::getpid())), std::string::npos)
      << result.err;
}

TEST_F(GatewayTest, NoLoopbackListenerIsRefused) {
  PrivateNamespace ns;
  if (!ns.ok()) {
    GTEST_SKIP() << "cannot create a network namespace (needs root and iproute2)";
  }
  auto args = tls_flags();
  std::vector<std::string> argv{"ip", "netns", "exec", ns.name(), sanctum_binary(), "serve",
                                "--listen", "192.0.2.1:0", "--upstream", "echo"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run_command(argv, 15s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("no listener is bound to a loopback address"), std::string::npos)
      << result.err;
}

TEST_F(GatewayTest, CheckRefusesConfigWithoutLoopbackListener) {
  // --check binds nothing, so the rule is applied to the configured address.
  auto args = tls_flags();
  std::vector<std::string> argv{sanctum_binary(), "serve", "--check", "--listen", "192.0.2.1:1337",
                                "--upstream", "echo"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run_command(argv, 15s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("no listener is bound to a loopback address"), std::string::npos)
      << result.err;
  EXPECT_EQ(result.out.find("configuration OK"), std::string::npos) << result.out;
}

TEST_F(GatewayTest, BadConfigNamesFileAndLine) {
  auto path = dir / "bad.toml";
  write_text(path, "[[listener]]\nname = \"m\"\nbind = \"127.0.0.1:0\"\nupstrem = \"echo\"\n");
  auto result = run_command({sanctum_binary(), "serve", "--config", path.string()}, 15s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(path.string() + ":4"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("upstrem"), std::string::npos) << result.err;
}

TEST_F(GatewayTest, CheckAcceptsGoodAndRejectsMismatchedKey) {
  auto flags = tls_flags();
  std::vector<std::string> argv{sanctum_binary(), "serve", "--check", "--upstream", "echo"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto good = run_command(argv, 15s);
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_NE(good.out.find("configuration OK"), std::string::npos);

  std::vector<std::string> mismatched{sanctum_binary(), "serve", "--check", "--upstream", "echo",
                                      "--cert", pki.server_cert().string(), "--key",
                                      pki.client_key(TestPki::kGoodClient).string(),
                                      "--client-ca", pki.ca_cert().string()};
  auto bad = run_command(mismatched, 15s);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("does not match server certificate"), std::string::npos) << bad.err;
}

TEST_F(GatewayTest, SigtermDrainsInflightStream) {
  auto gateway = start();
  auto args = std::vector<std::string>{"curl", "-sS", "-N", "--max-time", "20"};
  auto flags = client_flags();
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back(gateway->https_url("/sse?events=6&gap_ms=150"));
  auto client = Process::start_piped(args, dir / "curl.err");
  auto first = client.read_line(10s);
  ASSERT_TRUE(first.has_value());
  gateway->process().send_signal(SIGTERM);

  std::string rest;
  while (auto line = client.read_line(10s)) {
    rest += *line + "\n";
  }
  EXPECT_NE(rest.find("data: [DONE]"), std::string::npos) << rest;
  EXPECT_EQ(client.wait(5s), 0);
  EXPECT_EQ(gateway->process().wait(10s), 0);
  EXPECT_NE(gateway->log().find("draining"), std::string::npos);
}

}  // namespace
}  // namespace sanctum::test
