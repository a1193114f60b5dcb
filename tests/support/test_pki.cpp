#include "support/test_pki.hpp"

#include <stdexcept>

#include "ca/ca.hpp"
#include "util/fs.hpp"

namespace sanctum::test {
namespace fs = std::filesystem;

namespace {

using std::chrono::days;

constexpr int kCaDays = 7;
constexpr int kLeafDays = 3;

template <class T>
T take(Result<T> result, const std::string& step) {
  if (!result) {
    throw std::runtime_error("TestPki: " + step + ": " + result.error().message);
  }
  return std::move(result).value();
}

void take(Result<void> result, const std::string& step) {
  if (!result) {
    throw std::runtime_error("TestPki: " + step + ": " + result.error().message);
  }
}

void write_concatenation(const fs::path& out, std::initializer_list<fs::path> parts) {
  std::string text;
  for (const fs::path& part : parts) {
    text += take(util::read_file(part), "read " + part.string());
  }
  take(util::write_file_atomic(out, text, fs::perms::owner_read | fs::perms::owner_write, true),
       "write " + out.string());
}

ca::IssueOptions client_options(const ca::CaPaths& paths, const std::string& name) {
  ca::IssueOptions options;
  options.paths = paths;
  options.name = name;
  options.role = ca::Role::client;
  options.days = kLeafDays;
  return options;
}

ca::CaPaths make_ca(const fs::path& dir, const std::string& common_name) {
  ca::InitOptions options;
  options.paths = ca::paths_for(dir);
  options.common_name = common_name;
  options.days = kCaDays;
  take(ca::init_ca(options), "create " + common_name);
  return options.paths;
}

}  // namespace

TestPki::TestPki(const fs::path& dir) : dir_(dir) {
  take(util::ensure_private_dir(dir_), "create " + dir_.string());
  ca::CaPaths root = make_ca(dir_ / "root", "sanctum test root CA");
  ca::CaPaths foreign = make_ca(dir_ / "foreign", "sanctum test foreign CA");
  ca::CaPaths intermediate = ca::paths_for(dir_ / "intermediate");
  ca::TimePoint now = ca::Clock::now();

  // The intermediate's folder is laid out like a root state folder, so
  // issue() and write_crl() work on it unchanged.
  ca::IssueOptions intermediate_ca = client_options(root, "sanctum-test-intermediate");
  intermediate_ca.intermediate_ca = true;
  intermediate_ca.days = kCaDays - 1;
  intermediate_ca.cert_out = intermediate.ca_cert;
  intermediate_ca.key_out = intermediate.ca_key;
  take(ca::issue(intermediate_ca), "issue the intermediate CA");
  take(ca::write_crl(intermediate), "write the intermediate CRL");

  ca::IssueOptions server = client_options(root, "server");
  server.role = ca::Role::server;
  take(ca::issue(server), "issue the server certificate");
  server.paths = intermediate;
  take(ca::issue(server), "issue the intermediate's server certificate");
  write_concatenation(intermediate_server_chain(),
                      {intermediate.server_cert, intermediate.ca_cert});

  auto add_client = [&](ca::IssueOptions options) {
    auto issued = take(ca::issue(options), "issue " + options.name);
    clients_[options.name] = Files{issued.cert_file, issued.key_file, issued.cert_file};
  };
  add_client(client_options(root, kGoodClient));
  ca::IssueOptions uri = client_options(root, kUriClient);
  uri.sans = {"DNS:uri-client.test", "URI:spiffe://sanctum.test/uri-client"};
  add_client(uri);
  add_client(client_options(foreign, kForeignClient));
  ca::IssueOptions expired = client_options(root, kExpiredClient);
  expired.not_before = now - days(10);
  expired.not_after = now - days(1);
  add_client(expired);
  ca::IssueOptions not_yet_valid = client_options(root, kNotYetValidClient);
  not_yet_valid.not_before = now + days(1);
  not_yet_valid.not_after = now + days(kLeafDays);
  add_client(not_yet_valid);
  ca::IssueOptions server_auth = client_options(root, kServerAuthClient);
  server_auth.extended_key_usage = ca::ExtendedKeyUsage::server_auth;
  add_client(server_auth);
  ca::IssueOptions no_eku = client_options(root, kNoEkuClient);
  no_eku.extended_key_usage = ca::ExtendedKeyUsage::none;
  add_client(no_eku);
  add_client(client_options(intermediate, kIntermediateClient));
  Files& chained = clients_[kIntermediateClient];
  chained.chain = intermediate.clients_dir / (std::string(kIntermediateClient) + ".chain.crt");
  write_concatenation(chained.chain, {chained.cert, intermediate.ca_cert});
  add_client(client_options(root, kRevokedClient));

  ca::RevokeOptions revoke{root, kRevokedClient, ca::Role::client,
                           ca::RevocationReason::key_compromise};
  take(ca::revoke(revoke), "revoke " + std::string(kRevokedClient));
  write_concatenation(crl(), {root.crl, intermediate.crl});
}

fs::path TestPki::ca_cert() const { return dir_ / "root" / "ca.crt"; }
fs::path TestPki::ca_key() const { return dir_ / "root" / "ca.key"; }
fs::path TestPki::intermediate_cert() const { return dir_ / "intermediate" / "ca.crt"; }
fs::path TestPki::intermediate_key() const { return dir_ / "intermediate" / "ca.key"; }
fs::path TestPki::foreign_ca_cert() const { return dir_ / "foreign" / "ca.crt"; }
fs::path TestPki::server_cert() const { return dir_ / "root" / "server.crt"; }
fs::path TestPki::server_key() const { return dir_ / "root" / "server.key"; }
fs::path TestPki::intermediate_server_cert() const { return dir_ / "intermediate" / "server.crt"; }
fs::path TestPki::intermediate_server_key() const { return dir_ / "intermediate" / "server.key"; }
fs::path TestPki::intermediate_server_chain() const {
  return dir_ / "intermediate" / "server.chain.crt";
}
fs::path TestPki::crl() const { return dir_ / "crl.pem"; }

const TestPki::Files& TestPki::client(const std::string& name) const {
  auto found = clients_.find(name);
  if (found == clients_.end()) {
    throw std::out_of_range("TestPki has no client named '" + name + "'");
  }
  return found->second;
}

fs::path TestPki::client_cert(const std::string& name) const { return client(name).cert; }
fs::path TestPki::client_key(const std::string& name) const { return client(name).key; }
fs::path TestPki::client_chain(const std::string& name) const { return client(name).chain; }

}  // namespace sanctum::test
