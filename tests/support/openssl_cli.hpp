#pragma once

// Cross-checks against the openssl command-line tool, so src/ca is not the
// only judge of the certificates it writes.

#include <filesystem>
#include <string>
#include <vector>

#include "support/subprocess.hpp"

namespace sanctum::test {

// Runs `openssl verify` with `options` (for example -CAfile, -purpose) on
// `cert`. The output ends with "<cert>: OK" on success.
inline ProcessResult openssl_verify(const std::vector<std::string>& options,
                                    const std::filesystem::path& cert) {
  std::vector<std::string> argv = {"openssl", "verify"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(cert.string());
  return run_process(argv);
}

// Returns `openssl crl -text` output for the first CRL in `file`.
inline std::string openssl_crl_text(const std::filesystem::path& file) {
  return run_process({"openssl", "crl", "-in", file.string(), "-noout", "-text"}).output;
}

// Returns `openssl x509 -text` output for the first certificate in `file`.
inline std::string openssl_x509_text(const std::filesystem::path& file) {
  return run_process({"openssl", "x509", "-in", file.string(), "-noout", "-text"}).output;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace sanctum::test
