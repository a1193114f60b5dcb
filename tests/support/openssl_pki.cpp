#include "support/openssl_pki.hpp"

#include <stdexcept>
#include <vector>

#include "support/process.hpp"

namespace sanctum::test {

void run_openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run_command(argv);
  if (result.exit_code != 0) {
    throw std::runtime_error("openssl " + args.front() + " failed: " + result.err);
  }
}

namespace {

void make_ca(const std::filesystem::path& cert, const std::filesystem::path& key,
             const std::string& name) {
  run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", key.string(), "-out", cert.string(), "-days", "2", "-subj", "/CN=" + name,
               "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
               "keyUsage=critical,keyCertSign,cRLSign"});
}

void sign(const std::filesystem::path& dir, const std::string& name, const std::string& extensions,
          const std::filesystem::path& ca_cert, const std::filesystem::path& ca_key) {
  auto key = dir / (name + ".key");
  auto csr = dir / (name + ".csr");
  auto ext = dir / (name + ".ext");
  run_openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
               key.string(), "-out", csr.string(), "-subj", "/CN=" + name});
  write_text(ext, extensions + "\n");
  run_openssl({"x509", "-req", "-in", csr.string(), "-CA", ca_cert.string(), "-CAkey",
               ca_key.string(), "-CAcreateserial", "-out", (dir / (name + ".crt")).string(),
               "-days", "2", "-extfile", ext.string()});
}

}  // namespace

OpensslPki::OpensslPki(const std::filesystem::path& dir) : dir_(dir) {
  std::filesystem::create_directories(dir_);
  make_ca(ca_cert(), ca_key(), "sanctum test CA");
  issue("server",
        "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth");
  issue("demo-client", "extendedKeyUsage=clientAuth");
}

void OpensslPki::issue(const std::string& name, const std::string& extensions) {
  sign(dir_, name, extensions, ca_cert(), ca_key());
}

void OpensslPki::issue_foreign_client() {
  make_ca(dir_ / "foreign-ca.crt", dir_ / "foreign-ca.key", "foreign CA");
  sign(dir_, "foreign-client", "extendedKeyUsage=clientAuth", dir_ / "foreign-ca.crt",
       dir_ / "foreign-ca.key");
}

}  // namespace sanctum::test
