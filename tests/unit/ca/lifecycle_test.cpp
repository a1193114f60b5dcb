// Revocation, CRLs, renewal, rotation, expiry checks and export, each
// cross-checked with the openssl CLI where a verifier's view matters.

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

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_ = paths_for(temp_.path() / "state");
    InitOptions options;
    options.paths = paths_;
    auto created = init_ca(options);
    ASSERT_TRUE(created.ok()) << created.error().message;
  }

  IssuedCert issue_client(const std::string& name, std::vector<std::string> sans = {}) {
    IssueOptions options;
    options.paths = paths_;
    options.name = name;
    options.sans = std::move(sans);
    auto issued = issue(options);
    EXPECT_TRUE(issued.ok()) << issued.error().message;
    return issued.ok() ? *issued : IssuedCert{};
  }

  test::ProcessResult verify_with_crl(const fs::path& cert, const fs::path& trust) {
    return openssl_verify({"-CAfile", trust.string(), "-crl_check", "-CRLfile",
                           paths_.crl.string(), "-purpose", "sslclient"},
                          cert);
  }

  test::TempDir temp_;
  CaPaths paths_;
};

TEST_F(LifecycleTest, RevokeByNameAppearsInCrl) {
  IssuedCert laptop = issue_client("laptop");
  ASSERT_EQ(verify_with_crl(laptop.cert_file, paths_.ca_cert).exit_code, 0);

  auto revoked = revoke({paths_, "laptop", std::nullopt, RevocationReason::key_compromise});
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  ASSERT_EQ(revoked->size(), 1u);
  EXPECT_TRUE(revoked->front().revoked_at.has_value());

  std::string text = test::openssl_crl_text(paths_.crl);
  std::string upper_serial;
  for (char c : laptop.entry.serial) {
    upper_serial += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  EXPECT_TRUE(contains(text, "Serial Number: " + upper_serial)) << text;
  EXPECT_TRUE(contains(text, "Key Compromise")) << text;
  EXPECT_TRUE(contains(text, "X509v3 CRL Number: \n                2")) << text;
  EXPECT_TRUE(contains(text, "Next Update")) << text;

  auto verified = verify_with_crl(laptop.cert_file, paths_.ca_cert);
  EXPECT_NE(verified.exit_code, 0);
  EXPECT_TRUE(contains(verified.output, "certificate revoked")) << verified.output;
  EXPECT_TRUE(list(paths_)->front().revoked);
}

TEST_F(LifecycleTest, RevokeBySerialWithColons) {
  IssuedCert laptop = issue_client("laptop");
  IssuedCert phone = issue_client("phone");
  std::string serial;
  for (size_t i = 0; i < laptop.entry.serial.size(); i += 2) {
    serial += (i == 0 ? "" : ":") + laptop.entry.serial.substr(i, 2);
  }
  auto revoked = revoke({paths_, serial, std::nullopt, RevocationReason::unspecified});
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  EXPECT_EQ(revoked->front().name, "laptop");
  auto phone_verified = verify_with_crl(phone.cert_file, paths_.ca_cert);
  EXPECT_EQ(phone_verified.exit_code, 0) << phone_verified.output;
  EXPECT_NE(verify_with_crl(laptop.cert_file, paths_.ca_cert).exit_code, 0);
}

TEST_F(LifecycleTest, RevokeUnknownTargetFails) {
  issue_client("laptop");
  auto missing = revoke({paths_, "desktop", std::nullopt, RevocationReason::unspecified});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.error().message, "'desktop'")) << missing.error().message;
  ASSERT_TRUE(revoke({paths_, "laptop", std::nullopt, RevocationReason::superseded}).ok());
  auto again = revoke({paths_, "laptop", std::nullopt, RevocationReason::superseded});
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(contains(again.error().message, "no valid certificate named 'laptop'"))
      << again.error().message;
}

TEST_F(LifecycleTest, WriteCrlIncrementsNumber) {
  auto first = write_crl(paths_);
  auto second = write_crl(paths_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(first->crl_number, 2u);
  EXPECT_EQ(second->crl_number, 3u);
  EXPECT_EQ(second->next_update - second->last_update, days(kCrlValidityDays));
  auto checked = test::run_process({"openssl", "crl", "-in", paths_.crl.string(), "-CAfile",
                                    paths_.ca_cert.string(), "-noout"});
  EXPECT_TRUE(contains(checked.output, "verify OK")) << checked.output;
}

TEST_F(LifecycleTest, RenewKeepsSansWithNewSerial) {
  IssuedCert old_cert = issue_client("laptop", {"DNS:laptop.test", "URI:spiffe://h/laptop"});
  auto renewed = renew({paths_, "laptop", std::nullopt});
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  EXPECT_NE(renewed->entry.serial, old_cert.entry.serial);
  EXPECT_EQ(renewed->entry.sans, old_cert.entry.sans);
  EXPECT_EQ(renewed->entry.role, Role::client);
  EXPECT_EQ(renewed->cert_file, old_cert.cert_file);
  EXPECT_EQ(renewed->entry.not_after - renewed->entry.not_before,
            old_cert.entry.not_after - old_cert.entry.not_before);

  fs::path previous = paths_.previous_cert_file(Role::client, "laptop");
  EXPECT_EQ(read_certificate_info(previous)->serial, old_cert.entry.serial);
  EXPECT_EQ(fs::status(paths_.previous_key_file(Role::client, "laptop")).permissions(),
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(verify_with_crl(previous, paths_.ca_cert).exit_code, 0);
  EXPECT_EQ(verify_with_crl(renewed->cert_file, paths_.ca_cert).exit_code, 0);

  auto entries = list(paths_);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_FALSE(entries->at(0).revoked);
}

TEST_F(LifecycleTest, RenewDueSkipsFreshCertificates) {
  IssueOptions old_options;
  old_options.paths = paths_;
  old_options.name = "old";
  old_options.not_before = Clock::now() - days(80);
  old_options.not_after = Clock::now() + days(20);
  ASSERT_TRUE(issue(old_options).ok());
  IssuedCert fresh = issue_client("fresh");

  auto renewed = renew_due(paths_);
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  ASSERT_EQ(renewed->size(), 1u);
  EXPECT_EQ(renewed->front().entry.name, "old");
  EXPECT_EQ(read_certificate_info(fresh.cert_file)->serial, fresh.entry.serial);
  EXPECT_TRUE(renew_due(paths_)->empty());
}

TEST_F(LifecycleTest, RotateTrustsBothCasUntilFinish) {
  IssuedCert laptop = issue_client("laptop");
  fs::path old_ca_copy = temp_.path() / "old-ca.crt";
  fs::copy_file(paths_.ca_cert, old_ca_copy);

  auto rotated = rotate({paths_, KeyType::ecdsa_p256, std::nullopt, kDefaultCaDays, {}});
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  ASSERT_EQ(rotated->reissued.size(), 1u);
  EXPECT_TRUE(fs::exists(paths_.old_ca_cert));
  EXPECT_EQ(fs::status(paths_.old_ca_key).permissions(),
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_NE(rotated->new_ca.subject_cn, "sanctum CA");

  fs::path previous = paths_.previous_cert_file(Role::client, "laptop");
  EXPECT_EQ(verify_with_crl(previous, paths_.ca_bundle).exit_code, 0);
  EXPECT_EQ(verify_with_crl(laptop.cert_file, paths_.ca_bundle).exit_code, 0);
  EXPECT_NE(openssl_verify({"-CAfile", paths_.ca_cert.string()}, previous).exit_code, 0);

  // The old CA's certificates stay revocable during the overlap.
  auto revoked = revoke({paths_, rotated->reissued.front().entry.serial, std::nullopt,
                         RevocationReason::superseded});
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  ASSERT_TRUE(revoke({paths_, laptop.entry.serial, std::nullopt,
                      RevocationReason::superseded}).ok());
  EXPECT_NE(verify_with_crl(previous, paths_.ca_bundle).exit_code, 0);
  EXPECT_NE(verify_with_crl(laptop.cert_file, paths_.ca_bundle).exit_code, 0);

  auto second = rotate({paths_, KeyType::ecdsa_p256, std::nullopt, kDefaultCaDays, {}});
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(contains(second.error().message, "rotate --finish")) << second.error().message;

  ASSERT_TRUE(rotate_finish(paths_).ok());
  EXPECT_FALSE(fs::exists(paths_.old_ca_cert));
  EXPECT_FALSE(fs::exists(paths_.old_ca_key));
  EXPECT_EQ(*util::read_file(paths_.ca_bundle), *util::read_file(paths_.ca_cert));
}

TEST_F(LifecycleTest, FinishRejectedWhileClientOnOldCa) {
  issue_client("laptop");
  issue_client("phone");
  auto rotated = rotate({paths_, KeyType::ed25519, std::string("home CA 2"), 30, {"phone"}});
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  EXPECT_EQ(rotated->new_ca.subject_cn, "home CA 2");
  ASSERT_EQ(rotated->reissued.size(), 1u);

  auto rejected = rotate_finish(paths_);
  ASSERT_FALSE(rejected.ok());
  EXPECT_TRUE(contains(rejected.error().message, "client phone")) << rejected.error().message;
  EXPECT_FALSE(contains(rejected.error().message, "laptop")) << rejected.error().message;
  EXPECT_TRUE(fs::exists(paths_.old_ca_cert));

  ASSERT_TRUE(renew({paths_, "phone", std::nullopt}).ok());
  auto finished = rotate_finish(paths_);
  EXPECT_TRUE(finished.ok()) << finished.error().message;
}

TEST_F(LifecycleTest, CheckListsShortLivedAndExpired) {
  IssueOptions short_lived;
  short_lived.paths = paths_;
  short_lived.name = "short";
  short_lived.days = 2;
  ASSERT_TRUE(issue(short_lived).ok());
  IssueOptions expired = short_lived;
  expired.name = "expired";
  expired.days.reset();
  expired.not_before = Clock::now() - days(3);
  expired.not_after = Clock::now() - days(1);
  ASSERT_TRUE(issue(expired).ok());
  issue_client("long");

  auto week = check_expiry(paths_, days(7));
  ASSERT_TRUE(week.ok()) << week.error().message;
  ASSERT_EQ(week->size(), 2u);
  EXPECT_EQ(week->at(0).name, "short");
  EXPECT_FALSE(week->at(0).expired);
  EXPECT_EQ(week->at(0).days_left, 1);
  EXPECT_EQ(week->at(1).name, "expired");
  EXPECT_TRUE(week->at(1).expired);

  ASSERT_TRUE(revoke({paths_, "expired", std::nullopt, RevocationReason::superseded}).ok());
  EXPECT_EQ(check_expiry(paths_, days(1))->size(), 0u);
  auto ca_too = check_expiry(paths_, days(4000));
  ASSERT_TRUE(ca_too.ok());
  EXPECT_EQ(ca_too->front().kind, "ca");
}

TEST_F(LifecycleTest, CrlDueWithinItsWindow) {
  auto fresh = check_crl_due(paths_, days(7));
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_FALSE(fresh->has_value());

  auto soon = check_crl_due(paths_, days(7), Clock::now() + days(25));
  ASSERT_TRUE(soon.ok()) << soon.error().message;
  ASSERT_TRUE(soon->has_value());
  EXPECT_EQ((*soon)->name, "crl.pem");
  EXPECT_EQ((*soon)->kind, "crl");
  EXPECT_FALSE((*soon)->expired);
  EXPECT_EQ((*soon)->days_left, 4);

  auto late = check_crl_due(paths_, days(7), Clock::now() + days(31));
  ASSERT_TRUE(late.ok()) << late.error().message;
  ASSERT_TRUE(late->has_value());
  EXPECT_TRUE((*late)->expired);
}

TEST_F(LifecycleTest, CrlCheckSkipsMissingAndRejectsJunk) {
  fs::remove(paths_.crl);
  auto missing = check_crl_due(paths_, days(7));
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_FALSE(missing->has_value());

  ASSERT_TRUE(util::write_file_atomic(paths_.crl, "not a CRL\n",
                                      fs::perms::owner_read | fs::perms::owner_write, true)
                  .ok());
  auto junk = check_crl_due(paths_, days(7));
  ASSERT_FALSE(junk.ok());
  EXPECT_TRUE(contains(junk.error().message, "holds no PEM CRL")) << junk.error().message;
  EXPECT_TRUE(contains(junk.error().message, "sanctum ca crl --dir")) << junk.error().message;
}

TEST_F(LifecycleTest, CheckFailsForMissingFolder) {
  auto result = check_expiry(paths_for(temp_.path() / "absent"), days(7));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(contains(result.error().message, "not found")) << result.error().message;
}

TEST_F(LifecycleTest, ExportWritesPrivateTarball) {
  IssuedCert laptop = issue_client("laptop");
  fs::path out = temp_.path() / "laptop.tar.gz";
  auto written = export_credentials({paths_, "laptop", std::nullopt, out});
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(fs::status(out).permissions(), fs::perms::owner_read | fs::perms::owner_write);

  auto listing = test::run_process({"tar", "-tvzf", out.string()});
  ASSERT_EQ(listing.exit_code, 0) << listing.output;
  EXPECT_TRUE(contains(listing.output, "-rw-r--r-- root/root")) << listing.output;
  EXPECT_TRUE(contains(listing.output, " ca.crt\n")) << listing.output;
  EXPECT_TRUE(contains(listing.output, " laptop.crt\n")) << listing.output;
  EXPECT_TRUE(contains(listing.output, "-rw------- root/root")) << listing.output;
  EXPECT_TRUE(contains(listing.output, " laptop.key\n")) << listing.output;

  fs::path unpacked = temp_.path() / "unpacked";
  fs::create_directory(unpacked);
  auto extracted = test::run_process({"tar", "-xzf", out.string(), "-C", unpacked.string()});
  ASSERT_EQ(extracted.exit_code, 0) << extracted.output;
  EXPECT_EQ(*util::read_file(unpacked / "laptop.key"), *util::read_file(laptop.key_file));
  EXPECT_EQ(*util::read_file(unpacked / "ca.crt"), *util::read_file(paths_.ca_cert));

  auto again = export_credentials({paths_, "laptop", std::nullopt, out});
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(contains(again.error().message, "--force")) << again.error().message;
  EXPECT_TRUE(export_credentials({paths_, "laptop", std::nullopt, out, ExportFormat::tar_gz, true}).ok());
}

TEST_F(LifecycleTest, ExportWritesFolder) {
  IssuedCert laptop = issue_client("laptop");
  fs::path out = temp_.path() / "laptop-files";
  auto written =
      export_credentials({paths_, "laptop", Role::client, out, ExportFormat::directory});
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(fs::status(out).permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(out / "laptop.key").permissions(),
            fs::perms::owner_read | fs::perms::owner_write);
  auto verified = openssl_verify({"-CAfile", (out / "ca.crt").string()}, out / "laptop.crt");
  EXPECT_EQ(verified.exit_code, 0) << verified.output;

  auto unknown = export_credentials({paths_, "desktop", std::nullopt, out});
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(contains(unknown.error().message, "'desktop'")) << unknown.error().message;
}

}  // namespace
}  // namespace sanctum::ca
