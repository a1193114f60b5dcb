// Tests of src/client against the real `sanctum serve` on the echo upstream,
// with certificates made at test time.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/mtls_client.hpp"
#include "client/sse.hpp"
#include "support/gateway.hpp"
#include "support/server_cert.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"
#include "tls/handles.hpp"
#include "tls/identity.hpp"

namespace sanctum::test {
namespace {

using namespace std::chrono_literals;
using client::FailureKind;
using client::MtlsClient;

class MtlsClientTest : public ::testing::Test {
 protected:
  TempDir dir;
  TestPki pki{dir / "pki"};

  std::unique_ptr<GatewayProcess> start(std::vector<std::string> extra = {},
                                        const std::filesystem::path& cert = {},
                                        const std::filesystem::path& key = {}) {
    std::vector<std::string> args{
        "--listen", "127.0.0.1:0", "--upstream", "echo", "--threads", "1",
        "--cert", cert.empty() ? pki.server_cert().string() : cert.string(),
        "--key", key.empty() ? pki.server_key().string() : key.string(),
        "--client-ca", pki.ca_cert().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto gateway = std::make_unique<GatewayProcess>(dir.path(), args);
    EXPECT_TRUE(gateway->wait_ready()) << gateway->log();
    return gateway;
  }

  client::ClientFiles files(const std::string& name = TestPki::kGoodClient) const {
    return {pki.ca_cert(), pki.client_cert(name), pki.client_key(name)};
  }

  MtlsClient make_client(const std::string& name = TestPki::kGoodClient) const {
    auto made = MtlsClient::create(files(name));
    if (!made) {
      throw std::runtime_error(made.error().message);
    }
    return std::move(made).value();
  }

  static client::HttpsUrl url_of(const std::string& text) {
    auto url = client::parse_https_url(text);
    if (!url) {
      throw std::runtime_error(url.error().message);
    }
    return *url;
  }
};

std::string fingerprint_of(const std::filesystem::path& pem) {
  FILE* file = std::fopen(pem.c_str(), "r");
  tls::X509Ptr cert(PEM_read_X509(file, nullptr, nullptr, nullptr));
  std::fclose(file);
  return tls::sha256_fingerprint(cert.get());
}

TEST_F(MtlsClientTest, GetsModelListOverMtls) {
  auto gateway = start();
  auto client = make_client();
  client::Request request;
  request.path = "/v1/models";
  auto response = client.send(url_of(gateway->https_url("")), request);
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(response.body)["data"][0]["id"], "sanctum-echo");
  EXPECT_TRUE(response.tls_version == "TLSv1.3" || response.tls_version == "TLSv1.2")
      << response.tls_version;
  EXPECT_EQ(response.server_cert_sha256, fingerprint_of(pki.server_cert()));
  EXPECT_EQ(response.header("content-type"), "application/json");
  EXPECT_GT(response.timing.finished, response.timing.handshake_done);
  // The gateway writes the access record after the response has gone out.
  ASSERT_TRUE(wait_until([&] { return gateway->access_records().size() == 1; }, 5s));
  EXPECT_EQ(gateway->access_records()[0]["client"], TestPki::kGoodClient);
}

TEST_F(MtlsClientTest, ReportsOwnCertificate) {
  auto client = make_client();
  EXPECT_EQ(client.certificate().common_name, TestPki::kGoodClient);
  EXPECT_FALSE(client.certificate().serial_hex.empty());
  EXPECT_EQ(client.certificate().sha256_fingerprint,
            fingerprint_of(pki.client_cert(TestPki::kGoodClient)));
  EXPECT_GT(client.certificate().not_after, std::time(nullptr));
}

TEST_F(MtlsClientTest, StreamPiecesArriveAsSent) {
  auto gateway = start({"--chunk-delay", "150ms"});
  auto client = make_client();
  client::Request request;
  request.method = "POST";
  request.path = "/v1/chat/completions";
  request.content_type = "application/json";
  request.body = R"({"model":"sanctum-echo","stream":true,)"
                 R"("messages":[{"role":"user","content":"one two three"}]})";

  std::vector<std::chrono::steady_clock::time_point> arrivals;
  client::SseParser parser;
  std::vector<std::string> events;
  auto response = client.send(url_of(gateway->https_url("")), request, {},
                              [&](std::string_view piece, auto arrival) {
                                arrivals.push_back(arrival);
                                for (auto& event : parser.feed(piece)) {
                                  events.push_back(event);
                                }
                              });

  ASSERT_TRUE(response.ok()) << response.error;
  ASSERT_GE(arrivals.size(), 3u);
  EXPECT_GE(arrivals.back() - arrivals.front(), 250ms);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  std::string answer;
  for (const auto& event : events) {
    if (event != "[DONE]") {
      answer += nlohmann::json::parse(event)["choices"][0]["delta"]["content"].get<std::string>();
    }
  }
  EXPECT_EQ(answer, "echo: one two three");
}

TEST_F(MtlsClientTest, NonSuccessStatusIsFailure) {
  auto gateway = start();
  client::Request request;
  request.path = "/v1/no-such-endpoint";
  auto response = make_client().send(url_of(gateway->https_url("")), request);
  EXPECT_EQ(response.failure, FailureKind::http_status);
  EXPECT_EQ(response.error, "http-status 404");
  EXPECT_EQ(response.status, 404u);
  EXPECT_NE(response.body.find("not_found"), std::string::npos) << response.body;
}

TEST_F(MtlsClientTest, MissingFilesNamePath) {
  struct Case {
    client::ClientFiles files;
    std::filesystem::path expected;
  };
  auto good = files();
  auto missing = dir / "missing.pem";
  std::vector<Case> cases{
      {{missing, good.cert_file, good.key_file}, missing},
      {{good.ca_file, missing, good.key_file}, missing},
      {{good.ca_file, good.cert_file, missing}, missing},
  };
  for (const auto& c : cases) {
    auto made = MtlsClient::create(c.files);
    ASSERT_FALSE(made);
    EXPECT_NE(made.error().message.find(c.expected.string() + " not found"), std::string::npos)
        << made.error().message;
  }
}

TEST_F(MtlsClientTest, UnreadableFileIsNotMissing) {
  auto good = files();
  auto made = MtlsClient::create({good.ca_file, dir.path(), good.key_file});
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().message.find(dir.path().string() + " is not readable"), std::string::npos)
      << made.error().message;
}

TEST_F(MtlsClientTest, RejectsMismatchedKeyAndBadPem) {
  auto good = files();
  auto mismatched = MtlsClient::create(
      {good.ca_file, good.cert_file, pki.client_key(TestPki::kExpiredClient)});
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().message.find("does not match"), std::string::npos);

  write_text(dir / "empty.pem", "not a certificate\n");
  auto bad_ca = MtlsClient::create({dir / "empty.pem", good.cert_file, good.key_file});
  ASSERT_FALSE(bad_ca);
  EXPECT_NE(bad_ca.error().message.find("contains no PEM certificate"), std::string::npos);
}

TEST_F(MtlsClientTest, ClosedPortIsConnectRefused) {
  auto url = url_of("https://127.0.0.1:" + std::to_string(closed_port()));
  auto response = make_client().send(url, {});
  EXPECT_EQ(response.failure, FailureKind::connect_refused);
  EXPECT_TRUE(response.error.starts_with("connect-refused")) << response.error;
}

TEST_F(MtlsClientTest, ServerCertificateForOtherNameFails) {
  auto other = issue_server_cert(pki, "other", {"DNS:other.test"});
  auto gateway = start({}, other.cert, other.key);
  auto client = make_client();
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto url = url_of("https://" + host + ":" + std::to_string(gateway->port()));
    auto response = client.send(url, {});
    EXPECT_EQ(response.failure, FailureKind::server_name_mismatch) << response.error;
    EXPECT_EQ(response.error,
              "server-name-mismatch: the server certificate is not valid for " + host);
  }
}

TEST_F(MtlsClientTest, ServerFromOtherCaFails) {
  auto gateway = start();
  auto good = files();
  auto made = MtlsClient::create({pki.foreign_ca_cert(), good.cert_file, good.key_file});
  ASSERT_TRUE(made) << made.error().message;
  auto response = made->send(url_of(gateway->https_url("")), {});
  EXPECT_EQ(response.failure, FailureKind::tls_handshake);
  // The gateway sends its certificate without the root, and the foreign
  // bundle does not contain the test root that issued it.
  EXPECT_EQ(response.error,
            "tls-handshake: server certificate: unable to get local issuer certificate");
}

TEST_F(MtlsClientTest, RejectedClientCertificateFails) {
  auto gateway = start();
  auto response = make_client(TestPki::kForeignClient).send(url_of(gateway->https_url("")), {});
  EXPECT_EQ(response.failure, FailureKind::tls_handshake) << response.error;
  EXPECT_EQ(response.status, 0u);
}

TEST_F(MtlsClientTest, SilentServerTimesOutInHandshake) {
  // A listening socket that never accepts: the kernel completes the TCP
  // handshake, and no ServerHello ever comes back.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  client::Timeouts timeouts;
  timeouts.handshake = 300ms;
  auto started = std::chrono::steady_clock::now();
  auto response = make_client().send(
      url_of("https://127.0.0.1:" + std::to_string(ntohs(address.sin_port))), {}, timeouts);
  ::close(fd);
  EXPECT_EQ(response.failure, FailureKind::timeout);
  EXPECT_EQ(response.error, "timeout: handshake (0.3s)");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST_F(MtlsClientTest, TotalLimitCutsSlowStream) {
  auto gateway = start({"--chunk-delay", "300ms"});
  client::Request request;
  request.method = "POST";
  request.path = "/v1/chat/completions";
  request.content_type = "application/json";
  request.body = R"({"stream":true,"messages":[{"role":"user","content":"a b c d e f g"}]})";
  client::Timeouts timeouts;
  timeouts.total = 700ms;
  auto response = make_client().send(url_of(gateway->https_url("")), request, timeouts);
  EXPECT_EQ(response.failure, FailureKind::timeout);
  EXPECT_EQ(response.error, "timeout: total (0.7s)");
  EXPECT_EQ(response.status, 200u);
}

}  // namespace
}  // namespace sanctum::test
