// `sanctum ca ...` run as a user runs it: the built binary in a temporary
// state folder, with exit codes and messages checked.

#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "ca/ca.hpp"
#include "support/openssl_cli.hpp"
#include "support/subprocess.hpp"
#include "support/temp_dir.hpp"
#include "util/fs.hpp"

namespace sanctum::test {
namespace {

namespace fs = std::filesystem;

class CaCliTest : public ::testing::Test {
 protected:
  // Runs `sanctum ca ARGS... --dir STATE`.
  ProcessResult ca(std::vector<std::string> args) {
    std::vector<std::string> argv = {SANCTUM_BINARY, "ca"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--dir");
    argv.push_back(state_.string());
    return run_process(argv);
  }

  void init() {
    auto result = ca({"init"});
    ASSERT_EQ(result.exit_code, 0) << result.output;
  }

  ProcessResult verify(const fs::path& cert, const std::string& purpose) {
    return openssl_verify({"-CAfile", (state_ / "ca.crt").string(), "-crl_check", "-CRLfile",
                           (state_ / "crl.pem").string(), "-purpose", purpose},
                          cert);
  }

  static std::string read_file_serial(const fs::path& cert) {
    auto info = ca::read_certificate_info(cert);
    return info.ok() ? info->serial : info.error().message;
  }

  TempDir temp_;
  fs::path state_ = temp_.path() / "state";
};

TEST_F(CaCliTest, HelpNamesUnits) {
  auto init = run_process({SANCTUM_BINARY, "ca", "init", "--help"});
  EXPECT_EQ(init.exit_code, 0);
  EXPECT_TRUE(contains(init.output, "validity in days")) << init.output;
  EXPECT_TRUE(contains(init.output, "YYYY-MM-DD")) << init.output;
  auto check = run_process({SANCTUM_BINARY, "ca", "check", "--help"});
  EXPECT_TRUE(contains(check.output, "Warning window in days")) << check.output;
  for (const char* command : {"issue", "list", "revoke", "crl", "renew", "rotate", "export"}) {
    auto help = run_process({SANCTUM_BINARY, "ca", command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_TRUE(contains(help.output, "--dir")) << command << ": " << help.output;
  }
}

TEST_F(CaCliTest, InitAndIssueWritePrivateFiles) {
  init();
  auto client = ca({"issue", "laptop", "--client", "--san", "URI:spiffe://home/laptop"});
  ASSERT_EQ(client.exit_code, 0) << client.output;
  auto server = ca({"issue", "server", "--server", "--key", "rsa-3072"});
  ASSERT_EQ(server.exit_code, 0) << server.output;

  EXPECT_EQ(fs::status(state_).permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(state_ / "clients").permissions(), fs::perms::owner_all);
  for (const char* key : {"ca.key", "server.key", "clients/laptop.key"}) {
    EXPECT_EQ(fs::status(state_ / key).permissions(),
              fs::perms::owner_read | fs::perms::owner_write)
        << key;
  }
  auto client_ok = verify(state_ / "clients/laptop.crt", "sslclient");
  EXPECT_EQ(client_ok.exit_code, 0) << client_ok.output;
  auto server_ok = verify(state_ / "server.crt", "sslserver");
  EXPECT_EQ(server_ok.exit_code, 0) << server_ok.output;
}

TEST_F(CaCliTest, RejectsOverwriteWithoutForce) {
  init();
  auto again = ca({"init"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(contains(again.output, "--force")) << again.output;

  ASSERT_EQ(ca({"issue", "laptop", "--client"}).exit_code, 0);
  auto second = ca({"issue", "laptop", "--client"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_TRUE(contains(second.output, (state_ / "clients/laptop.crt").string() +
                                          " already exists: pass --force"))
      << second.output;
  EXPECT_TRUE(contains(second.output, "sanctum ca renew laptop")) << second.output;
  EXPECT_EQ(ca({"issue", "laptop", "--client", "--force"}).exit_code, 0);
}

TEST_F(CaCliTest, ReissueAfterRevokeOffersOnlyForce) {
  init();
  ASSERT_EQ(ca({"issue", "laptop", "--client"}).exit_code, 0);
  ASSERT_EQ(ca({"revoke", "laptop"}).exit_code, 0);
  auto again = ca({"issue", "laptop", "--client"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(contains(again.output, "no unrevoked certificate named 'laptop'")) << again.output;
  EXPECT_TRUE(contains(again.output, "pass --force to replace it")) << again.output;
  EXPECT_FALSE(contains(again.output, "or run `sanctum ca renew")) << again.output;
  EXPECT_EQ(ca({"issue", "laptop", "--client", "--force"}).exit_code, 0);
}

TEST_F(CaCliTest, BadInputsNameTheValue) {
  auto missing = ca({"issue", "laptop", "--client"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.output, "ca.crt not found in " + state_.string() +
                                           ": run `sanctum ca init --dir " + state_.string() +
                                           "` first"))
      << missing.output;

  auto key = ca({"init", "--key", "ed448"});
  EXPECT_EQ(key.exit_code, 2);
  EXPECT_TRUE(contains(key.output, "unknown key type 'ed448'")) << key.output;
  EXPECT_FALSE(fs::exists(state_ / "ca.key"));

  init();
  auto san = ca({"issue", "box", "--server", "--san", "IP:localhost"});
  EXPECT_EQ(san.exit_code, 2);
  EXPECT_TRUE(contains(san.output, "invalid subjectAltName 'IP:localhost'")) << san.output;
  auto name = ca({"issue", "../box", "--client"});
  EXPECT_EQ(name.exit_code, 2);
  EXPECT_TRUE(contains(name.output, "invalid certificate name '../box'")) << name.output;
  auto role = ca({"issue", "box"});
  EXPECT_EQ(role.exit_code, 2);
  EXPECT_TRUE(contains(role.output, "--client or --server")) << role.output;
  auto reason = ca({"revoke", "box", "--reason", "lost"});
  EXPECT_EQ(reason.exit_code, 2);
  EXPECT_TRUE(contains(reason.output, "unknown revocation reason 'lost'")) << reason.output;
  auto date = ca({"init", "--force", "--not-after", "2020-01-01"});
  EXPECT_EQ(date.exit_code, 2);
  EXPECT_TRUE(contains(date.output, "--not-after 2020-01-01 is in the past")) << date.output;
  auto days = ca({"issue", "box", "--client", "--days", "0"});
  EXPECT_EQ(days.exit_code, 2) << days.output;
}

TEST_F(CaCliTest, StateFolderFromEnvironment) {
  auto result = run_process({SANCTUM_BINARY, "ca", "init"}, {{"SANCTUM_HOME", state_.string()}});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(fs::exists(state_ / "ca.crt"));
}

TEST_F(CaCliTest, RevokeShowsInCrlText) {
  init();
  ASSERT_EQ(ca({"issue", "laptop", "--client"}).exit_code, 0);
  auto revoked = ca({"revoke", "laptop", "--reason", "cessationOfOperation"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.output;
  std::string text = openssl_crl_text(state_ / "crl.pem");
  EXPECT_TRUE(contains(text, "Cessation Of Operation")) << text;
  EXPECT_NE(verify(state_ / "clients/laptop.crt", "sslclient").exit_code, 0);

  auto refreshed = ca({"crl"});
  EXPECT_EQ(refreshed.exit_code, 0) << refreshed.output;
  EXPECT_TRUE(contains(refreshed.output, "crlNumber 3, 1 revoked")) << refreshed.output;

  auto listed = ca({"list"});
  EXPECT_TRUE(contains(listed.output, "revoked")) << listed.output;
}

TEST_F(CaCliTest, ListJsonMatchesIndex) {
  init();
  ASSERT_EQ(ca({"issue", "laptop", "--client", "--san", "DNS:laptop.test"}).exit_code, 0);
  ASSERT_EQ(ca({"issue", "10.0.0.7", "--server"}).exit_code, 0);
  auto listed = ca({"list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  auto entries = nlohmann::json::parse(listed.output);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]["name"], "laptop");
  EXPECT_EQ(entries[0]["status"], "valid");
  EXPECT_EQ(entries[0]["sans"][0], "DNS:laptop.test");
  EXPECT_EQ(entries[1]["role"], "server");
  EXPECT_EQ(entries[1]["sans"][0], "IP:10.0.0.7");
  EXPECT_EQ(entries[1]["file"], "servers/10.0.0.7.crt");

  auto table = ca({"list"});
  EXPECT_TRUE(contains(table.output, "DAYS LEFT")) << table.output;
  EXPECT_TRUE(contains(table.output, "laptop")) << table.output;
}

TEST_F(CaCliTest, RenewKeepsSansAndChangesSerial) {
  init();
  ASSERT_EQ(ca({"issue", "gpu.local", "--server", "--san", "IP:192.168.1.20"}).exit_code, 0);
  auto before = read_file_serial(state_ / "servers/gpu.local.crt");
  auto renewed = ca({"renew", "gpu.local"});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.output;
  EXPECT_NE(read_file_serial(state_ / "servers/gpu.local.crt"), before);
  EXPECT_EQ(read_file_serial(state_ / "servers/gpu.local.prev.crt"), before);
  std::string text = openssl_x509_text(state_ / "servers/gpu.local.crt");
  EXPECT_TRUE(contains(text, "DNS:gpu.local, IP Address:192.168.1.20")) << text;

  auto due = ca({"renew", "--due"});
  EXPECT_EQ(due.exit_code, 0) << due.output;
  EXPECT_TRUE(contains(due.output, "0 certificates renewed")) << due.output;
}

TEST_F(CaCliTest, RotateFinishRejectedUntilClientMoves) {
  init();
  ASSERT_EQ(ca({"issue", "server", "--server"}).exit_code, 0);
  ASSERT_EQ(ca({"issue", "laptop", "--client"}).exit_code, 0);
  ASSERT_EQ(ca({"issue", "phone", "--client"}).exit_code, 0);
  auto rotated = ca({"rotate", "--skip", "phone"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
  EXPECT_TRUE(fs::exists(state_ / "ca-bundle.crt"));
  EXPECT_TRUE(fs::exists(state_ / "clients/laptop.prev.crt"));
  EXPECT_FALSE(fs::exists(state_ / "clients/phone.prev.crt"));
  auto old_server = openssl_verify({"-CAfile", (state_ / "ca-bundle.crt").string()},
                                   state_ / "server.prev.crt");
  EXPECT_EQ(old_server.exit_code, 0) << old_server.output;

  auto rejected = ca({"rotate", "--finish"});
  EXPECT_EQ(rejected.exit_code, 1);
  EXPECT_TRUE(contains(rejected.output, "chain only to the old CA")) << rejected.output;
  EXPECT_TRUE(contains(rejected.output, "client phone")) << rejected.output;

  ASSERT_EQ(ca({"renew", "phone"}).exit_code, 0);
  auto finished = ca({"rotate", "--finish"});
  EXPECT_EQ(finished.exit_code, 0) << finished.output;
  EXPECT_FALSE(fs::exists(state_ / "ca-old.crt"));
}

TEST_F(CaCliTest, CheckExitCodes) {
  init();
  ASSERT_EQ(ca({"issue", "laptop", "--client"}).exit_code, 0);
  auto quiet = ca({"check", "--warn-days", "30"});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.output;

  ASSERT_EQ(ca({"issue", "short", "--client", "--days", "2"}).exit_code, 0);
  auto warned = ca({"check", "--warn-days", "7"});
  EXPECT_EQ(warned.exit_code, 1) << warned.output;
  EXPECT_TRUE(contains(warned.output, "client short: expires on")) << warned.output;
  EXPECT_FALSE(contains(warned.output, "laptop")) << warned.output;

  auto json = ca({"check", "--warn-days", "7", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  auto parsed = nlohmann::json::parse(json.output);
  EXPECT_EQ(parsed["expiring"][0]["name"], "short");

  auto absent = run_process({SANCTUM_BINARY, "ca", "check", "--dir",
                             (temp_.path() / "absent").string()});
  EXPECT_EQ(absent.exit_code, 2) << absent.output;
  fs::path broken = temp_.path() / "broken";
  fs::create_directory(broken);
  ASSERT_TRUE(util::write_file_atomic(broken / "ca.crt", "not a certificate",
                                      fs::perms::owner_read | fs::perms::owner_write, false)
                  .ok());
  auto unreadable = run_process({SANCTUM_BINARY, "ca", "check", "--dir", broken.string()});
  EXPECT_EQ(unreadable.exit_code, 2) << unreadable.output;
  EXPECT_TRUE(contains(unreadable.output, "does not contain a PEM certificate"))
      << unreadable.output;
}

TEST_F(CaCliTest, CheckNamesDueCrl) {
  init();
  auto fresh = ca({"check"});
  EXPECT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_TRUE(contains(fresh.output, "no CRL update is due within 7 days")) << fresh.output;

  // A CRL is written valid for 30 days, so a 31-day window makes it due.
  auto due = ca({"check", "--crl-warn-days", "31"});
  EXPECT_EQ(due.exit_code, 1) << due.output;
  EXPECT_TRUE(contains(due.output, "crl crl.pem: next update due on")) << due.output;
  EXPECT_TRUE(contains(due.output, "run `sanctum ca crl --dir " + state_.string() + "`"))
      << due.output;

  auto json = ca({"check", "--crl-warn-days", "31", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  auto parsed = nlohmann::json::parse(json.output);
  EXPECT_EQ(parsed["crl_warn_days"], 31);
  EXPECT_EQ(parsed["expiring"][0]["kind"], "crl");
}

TEST_F(CaCliTest, ConcurrentIssueKeepsEveryEntry) {
  init();
  constexpr int kProcesses = 8;
  std::vector<int> pids;
  for (int i = 0; i < kProcesses; ++i) {
    pids.push_back(start_process({SANCTUM_BINARY, "ca", "issue", "client-" + std::to_string(i),
                                  "--client", "--dir", state_.string()}));
  }
  for (int i = 0; i < kProcesses; ++i) {
    EXPECT_EQ(wait_process(pids[i]), 0) << "client-" << i;
  }
  auto text = util::read_file(state_ / "index.json");
  ASSERT_TRUE(text.ok());
  auto index = nlohmann::json::parse(*text);
  ASSERT_EQ(index["certificates"].size(), static_cast<size_t>(kProcesses));
  std::set<std::string> names;
  for (const auto& entry : index["certificates"]) {
    names.insert(entry["name"].get<std::string>());
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kProcesses));
  for (int i = 0; i < kProcesses; ++i) {
    fs::path cert = state_ / "clients" / ("client-" + std::to_string(i) + ".crt");
    EXPECT_EQ(verify(cert, "sslclient").exit_code, 0) << cert;
  }
}

TEST_F(CaCliTest, ExportTarballListsThreeFiles) {
  init();
  ASSERT_EQ(ca({"issue", "laptop", "--client"}).exit_code, 0);
  fs::path out = temp_.path() / "laptop.tar.gz";
  auto exported = ca({"export", "laptop", "--out", out.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_EQ(fs::status(out).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  auto listing = run_process({"tar", "-tzf", out.string()});
  EXPECT_EQ(listing.output, "ca.crt\nlaptop.crt\nlaptop.key\n");

  fs::path folder = temp_.path() / "laptop-dir";
  auto as_folder = ca({"export", "laptop", "--out", folder.string() + "/"});
  ASSERT_EQ(as_folder.exit_code, 0) << as_folder.output;
  EXPECT_TRUE(fs::exists(folder / "laptop.key"));
  auto format = ca({"export", "laptop", "--out", out.string(), "--format", "zip"});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_TRUE(contains(format.output, "unknown --format 'zip'")) << format.output;
}

}  // namespace
}  // namespace sanctum::test
