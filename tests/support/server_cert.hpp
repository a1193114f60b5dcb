#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "support/test_pki.hpp"

namespace sanctum::test {

struct CertPair {
  std::filesystem::path cert;
  std::filesystem::path key;
};

// Issues a serverAuth certificate NAME from the test PKI's root CA with the
// given subjectAltNames ("DNS:x", "IP:x"), in root/servers/. Throws
// std::runtime_error when issuing fails.
CertPair issue_server_cert(const TestPki& pki, const std::string& name,
                           const std::vector<std::string>& sans);

// A port on 127.0.0.1 where nothing listens: bound once, then closed.
std::uint16_t closed_port();

}  // namespace sanctum::test
