#include <gtest/gtest.h>

#include "ca/ca.hpp"
#include "support/openssl_cli.hpp"
#include "support/temp_dir.hpp"
#include "util/fs.hpp"

namespace sanctum::ca {
namespace {

namespace fs = std::filesystem;
using std::chrono::days;
using test::contains;
using test::openssl_verify;

constexpr fs::perms kOwnerReadWrite = fs::perms::owner_read | fs::perms::owner_write;

class CaTest : public ::testing::Test {
 protected:
  void SetUp() override { paths_ = paths_for(temp_.path() / "state"); }

  CertificateInfo init(KeyType key_type = KeyType::ecdsa_p256) {
    InitOptions options;
    options.paths = paths_;
    options.key_type = key_type;
    auto created = init_ca(options);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created.ok() ? *created : CertificateInfo{};
  }

  IssueOptions client(const std::string& name) {
    IssueOptions options;
    options.paths = paths_;
    options.name = name;
    options.role = Role::client;
    return options;
  }

  IssueOptions server(const std::string& name) {
    IssueOptions options = client(name);
    options.role = Role::server;
    return options;
  }

  test::ProcessResult verify(const fs::path& cert, const std::string& purpose) {
    return openssl_verify({"-CAfile", paths_.ca_cert.string(), "-crl_check", "-CRLfile",
                           paths_.crl.string(), "-purpose", purpose},
                          cert);
  }

  test::TempDir temp_;
  CaPaths paths_;
};

TEST_F(CaTest, InitWritesPrivateFilesAndEmptyCrl) {
  CertificateInfo info = init();
  EXPECT_EQ(info.subject_cn, "sanctum CA");
  EXPECT_EQ(fs::status(paths_.dir).permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(paths_.ca_key).permissions(), kOwnerReadWrite);
  EXPECT_EQ(fs::status(paths_.ca_cert).permissions(),
            kOwnerReadWrite | fs::perms::group_read | fs::perms::others_read);
  EXPECT_TRUE(fs::exists(paths_.index));

  auto crl = test::run_process({"openssl", "crl", "-in", paths_.crl.string(), "-CAfile",
                                paths_.ca_cert.string(), "-noout"});
  EXPECT_EQ(crl.exit_code, 0) << crl.output;
  EXPECT_TRUE(contains(crl.output, "verify OK")) << crl.output;
  std::string text = test::openssl_crl_text(paths_.crl);
  EXPECT_TRUE(contains(text, "No Revoked Certificates")) << text;

  std::string ca_text = test::openssl_x509_text(paths_.ca_cert);
  EXPECT_TRUE(contains(ca_text, "CA:TRUE")) << ca_text;
  EXPECT_TRUE(contains(ca_text, "Certificate Sign, CRL Sign")) << ca_text;
  EXPECT_TRUE(contains(ca_text, "Subject Key Identifier")) << ca_text;
}

TEST_F(CaTest, InitRejectsExistingCaWithoutForce) {
  CertificateInfo first = init();
  InitOptions again;
  again.paths = paths_;
  auto rejected = init_ca(again);
  ASSERT_FALSE(rejected.ok());
  EXPECT_TRUE(contains(rejected.error().message, "--force")) << rejected.error().message;
  EXPECT_EQ(read_certificate_info(paths_.ca_cert)->sha256, first.sha256);

  again.force = true;
  auto replaced = init_ca(again);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_NE(replaced->sha256, first.sha256);
}

TEST_F(CaTest, InitRejectsBadCommonName) {
  InitOptions options;
  options.paths = paths_;
  options.common_name = "";
  EXPECT_FALSE(init_ca(options).ok());
  options.common_name = std::string(65, 'x');
  EXPECT_FALSE(init_ca(options).ok());
  EXPECT_FALSE(fs::exists(paths_.ca_cert));
}

TEST_F(CaTest, IssuedClientVerifiesAsSslClient) {
  init();
  IssueOptions options = client("laptop");
  options.sans = {"URI:spiffe://home/laptop", "DNS:laptop.test"};
  auto issued = issue(options);
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  EXPECT_EQ(issued->cert_file, paths_.clients_dir / "laptop.crt");
  EXPECT_EQ(issued->key_file, paths_.clients_dir / "laptop.key");
  EXPECT_EQ(fs::status(issued->key_file).permissions(), kOwnerReadWrite);
  EXPECT_EQ(fs::status(paths_.clients_dir).permissions(), fs::perms::owner_all);

  auto verified = verify(issued->cert_file, "sslclient");
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_NE(verify(issued->cert_file, "sslserver").exit_code, 0);

  std::string text = test::openssl_x509_text(issued->cert_file);
  EXPECT_TRUE(contains(text, "Subject: CN = laptop")) << text;
  EXPECT_TRUE(contains(text, "TLS Web Client Authentication")) << text;
  EXPECT_TRUE(contains(text, "CA:FALSE")) << text;
  EXPECT_TRUE(contains(text, "Authority Key Identifier")) << text;
  EXPECT_TRUE(contains(text, "URI:spiffe://home/laptop")) << text;
  EXPECT_EQ(issued->entry.serial.size(), 32u) << issued->entry.serial;
}

TEST_F(CaTest, ServerFilesFollowNameRule) {
  init();
  auto default_server = issue(server("server"));
  ASSERT_TRUE(default_server.ok()) << default_server.error().message;
  EXPECT_EQ(default_server->cert_file, paths_.server_cert);
  EXPECT_EQ(default_server->key_file, paths_.server_key);
  EXPECT_EQ(default_server->entry.sans,
            (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1"}));

  auto named = issue(server("gpu.example"));
  ASSERT_TRUE(named.ok()) << named.error().message;
  EXPECT_EQ(named->cert_file, paths_.servers_dir / "gpu.example.crt");
  EXPECT_EQ(named->entry.sans, std::vector<std::string>{"DNS:gpu.example"});

  IssueOptions by_ip = server("10.0.0.7");
  by_ip.sans = {"DNS:box.test"};
  auto ip = issue(by_ip);
  ASSERT_TRUE(ip.ok()) << ip.error().message;
  EXPECT_EQ(ip->entry.sans, (std::vector<std::string>{"IP:10.0.0.7", "DNS:box.test"}));
  for (const auto* issued : {&*default_server, &*named, &*ip}) {
    auto verified = verify(issued->cert_file, "sslserver");
    EXPECT_EQ(verified.exit_code, 0) << verified.output;
  }
}

TEST_F(CaTest, EveryKeyTypeIssuesVerifiableCertificates) {
  for (KeyType type : {KeyType::ecdsa_p256, KeyType::ed25519, KeyType::rsa_3072}) {
    SCOPED_TRACE(to_string(type));
    paths_ = paths_for(temp_.path() / to_string(type));
    init(type);
    IssueOptions options = server("server");
    options.key_type = type;
    auto issued = issue(options);
    ASSERT_TRUE(issued.ok()) << issued.error().message;
    auto verified = verify(issued->cert_file, "sslserver");
    EXPECT_EQ(verified.exit_code, 0) << verified.output;
    std::string text = test::openssl_x509_text(issued->cert_file);
    bool encipherment = contains(text, "Key Encipherment");
    EXPECT_EQ(encipherment, type == KeyType::rsa_3072) << text;
  }
}

TEST_F(CaTest, IssueRejectsExistingFilesWithoutForce) {
  init();
  auto first = issue(client("laptop"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = issue(client("laptop"));
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(contains(second.error().message, "laptop.crt already exists")) << second.error().message;
  EXPECT_TRUE(contains(second.error().message, "--force")) << second.error().message;
  EXPECT_EQ(read_certificate_info(first->cert_file)->serial, first->entry.serial);

  IssueOptions forced = client("laptop");
  forced.force = true;
  auto replaced = issue(forced);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_NE(read_certificate_info(first->cert_file)->serial, first->entry.serial);
  EXPECT_EQ(list(paths_)->size(), 2u);
}

TEST_F(CaTest, IssueRejectsExpiredCa) {
  InitOptions options;
  options.paths = paths_;
  options.not_before = Clock::now() - days(30);
  options.not_after = Clock::now() - days(1);
  ASSERT_TRUE(init_ca(options).ok());
  auto issued = issue(client("laptop"));
  ASSERT_FALSE(issued.ok());
  EXPECT_TRUE(contains(issued.error().message, "ca.crt expired on")) << issued.error().message;
  EXPECT_TRUE(contains(issued.error().message, "sanctum ca rotate")) << issued.error().message;
  EXPECT_FALSE(fs::exists(paths_.clients_dir / "laptop.key"));
}

TEST_F(CaTest, IssueRejectsNotYetValidCa) {
  InitOptions options;
  options.paths = paths_;
  options.not_before = Clock::now() + days(1);
  options.not_after = Clock::now() + days(30);
  ASSERT_TRUE(init_ca(options).ok());
  auto issued = issue(client("laptop"));
  ASSERT_FALSE(issued.ok());
  EXPECT_TRUE(contains(issued.error().message, "is not valid before")) << issued.error().message;
}

TEST_F(CaTest, IssueWithoutCaNamesInitCommand) {
  auto issued = issue(client("laptop"));
  ASSERT_FALSE(issued.ok());
  std::string expected = "ca.crt not found in " + paths_.dir.string() +
                         ": run `sanctum ca init --dir " + paths_.dir.string() + "` first";
  EXPECT_EQ(issued.error().message, expected);
}

TEST_F(CaTest, IssueRejectsBadNameSanAndDays) {
  init();
  IssueOptions bad_name = client("../escape");
  auto name_result = issue(bad_name);
  ASSERT_FALSE(name_result.ok());
  EXPECT_TRUE(contains(name_result.error().message, "invalid certificate name '../escape'"))
      << name_result.error().message;

  IssueOptions bad_san = client("laptop");
  bad_san.sans = {"IP:999.1.1.1"};
  auto san_result = issue(bad_san);
  ASSERT_FALSE(san_result.ok());
  EXPECT_TRUE(contains(san_result.error().message, "IP:999.1.1.1")) << san_result.error().message;

  IssueOptions bad_days = client("laptop");
  bad_days.days = 0;
  EXPECT_FALSE(issue(bad_days).ok());
  EXPECT_FALSE(fs::exists(paths_.clients_dir / "laptop.crt"));
  EXPECT_TRUE(list(paths_)->empty());
}

TEST_F(CaTest, NotAfterIsCutToCaExpiry) {
  InitOptions options;
  options.paths = paths_;
  options.days = 10;
  ASSERT_TRUE(init_ca(options).ok());
  auto issued = issue(client("laptop"));
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  EXPECT_TRUE(issued->not_after_cut);
  EXPECT_EQ(issued->entry.not_after, read_certificate_info(paths_.ca_cert)->not_after);
}

TEST_F(CaTest, IndexRecordsIssuedFields) {
  CertificateInfo ca_info = init();
  IssueOptions options = client("laptop");
  options.sans = {"DNS:laptop.test"};
  auto issued = issue(options);
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  auto entries = list(paths_);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  ASSERT_EQ(entries->size(), 1u);
  const IndexEntry& entry = entries->front();
  EXPECT_EQ(entry.name, "laptop");
  EXPECT_EQ(entry.role, Role::client);
  EXPECT_EQ(entry.serial, issued->entry.serial);
  EXPECT_EQ(entry.sha256, read_certificate_info(issued->cert_file)->sha256);
  EXPECT_EQ(entry.ca, ca_info.sha256);
  EXPECT_FALSE(entry.revoked);
  EXPECT_EQ(entry.sans, std::vector<std::string>{"DNS:laptop.test"});
  EXPECT_EQ(entry.cert_file, "clients/laptop.crt");

  auto fingerprint = test::run_process(
      {"openssl", "x509", "-in", issued->cert_file.string(), "-noout", "-fingerprint", "-sha256"});
  std::string hex;
  for (char c : fingerprint.output.substr(fingerprint.output.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  EXPECT_EQ(hex, entry.sha256);
}

TEST_F(CaTest, IntermediateCaSignsVerifiableLeaves) {
  init();
  CaPaths sub = paths_for(temp_.path() / "sub");
  IssueOptions intermediate = client("sub-ca");
  intermediate.intermediate_ca = true;
  intermediate.cert_out = sub.ca_cert;
  intermediate.key_out = sub.ca_key;
  ASSERT_TRUE(issue(intermediate).ok());
  EXPECT_TRUE(list(paths_)->empty());
  std::string text = test::openssl_x509_text(sub.ca_cert);
  EXPECT_TRUE(contains(text, "CA:TRUE, pathlen:0")) << text;

  IssueOptions leaf = client("deep");
  leaf.paths = sub;
  auto issued = issue(leaf);
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  auto verified = openssl_verify({"-CAfile", paths_.ca_cert.string(), "-untrusted",
                                  sub.ca_cert.string(), "-purpose", "sslclient"},
                                 issued->cert_file);
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

TEST_F(CaTest, ExtendedKeyUsageOverrides) {
  init();
  IssueOptions both = client("both");
  both.extended_key_usage = ExtendedKeyUsage::both;
  auto issued = issue(both);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(verify(issued->cert_file, "sslclient").exit_code, 0);
  EXPECT_EQ(verify(issued->cert_file, "sslserver").exit_code, 0);

  IssueOptions none = client("none");
  none.extended_key_usage = ExtendedKeyUsage::none;
  auto plain = issue(none);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(contains(test::openssl_x509_text(plain->cert_file), "Extended Key Usage"));
}

}  // namespace
}  // namespace sanctum::ca
