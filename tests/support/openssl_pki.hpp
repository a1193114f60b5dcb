#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sanctum::test {

// Test certificates made with the openssl command-line tool, independent of
// sanctum's own CA code: a CA, a server certificate for 127.0.0.1, ::1 and
// localhost, and clients. Every key is ECDSA P-256; validity is 2 days.
class OpensslPki {
 public:
  explicit OpensslPki(const std::filesystem::path& dir);

  std::filesystem::path ca_cert() const { return dir_ / "ca.crt"; }
  std::filesystem::path ca_key() const { return dir_ / "ca.key"; }
  std::filesystem::path server_cert() const { return dir_ / "server.crt"; }
  std::filesystem::path server_key() const { return dir_ / "server.key"; }
  std::filesystem::path cert(const std::string& name) const { return dir_ / (name + ".crt"); }
  std::filesystem::path key(const std::string& name) const { return dir_ / (name + ".key"); }

  // Issues NAME.crt/NAME.key signed by the CA. `extensions` is an openssl
  // extension block such as "extendedKeyUsage=clientAuth".
  void issue(const std::string& name, const std::string& extensions);

  // Makes a second, unrelated CA and a client it signs: foreign-client.crt.
  void issue_foreign_client();

 private:
  std::filesystem::path dir_;
};

// Runs openssl with `args`; throws with its stderr when it fails.
void run_openssl(const std::vector<std::string>& args);

}  // namespace sanctum::test
