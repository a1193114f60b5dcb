#pragma once

// A throwaway PKI for TLS tests, generated with src/ca in a folder the test
// owns. Every certificate uses ECDSA P-256 and a validity of a few days.

#include <filesystem>
#include <map>
#include <string>

namespace sanctum::test {

class TestPki {
 public:
  // Client names, each with a certificate and key (see client_cert()).
  static constexpr const char* kGoodClient = "good-client";  // root-signed, clientAuth
  // Root-signed, clientAuth, with DNS:uri-client.test and
  // URI:spiffe://sanctum.test/uri-client.
  static constexpr const char* kUriClient = "uri-client";
  static constexpr const char* kForeignClient = "foreign-client";  // from an unrelated CA
  static constexpr const char* kExpiredClient = "expired-client";  // ended yesterday
  static constexpr const char* kNotYetValidClient = "not-yet-valid-client";  // starts tomorrow
  static constexpr const char* kServerAuthClient = "server-auth-client";  // serverAuth EKU only
  static constexpr const char* kNoEkuClient = "no-eku-client";  // no extendedKeyUsage at all
  // Signed by the intermediate. client_chain() contains it and the intermediate.
  static constexpr const char* kIntermediateClient = "intermediate-client";
  static constexpr const char* kRevokedClient = "revoked-client";  // listed in crl()

  // Creates everything under `dir` (made 0700 when missing): root/ (the
  // root CA state folder), intermediate/, foreign/ and crl.pem. Throws
  // std::runtime_error with the failing step's message.
  explicit TestPki(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }

  // The root CA, the trust anchor for both server and client certificates.
  std::filesystem::path ca_cert() const;
  std::filesystem::path ca_key() const;
  // The intermediate CA (CA:TRUE, pathlen:0), signed by the root.
  std::filesystem::path intermediate_cert() const;
  std::filesystem::path intermediate_key() const;
  // The unrelated CA that signed kForeignClient.
  std::filesystem::path foreign_ca_cert() const;

  // Root-signed serverAuth certificate for DNS:localhost, IP:127.0.0.1 and
  // IP:::1.
  std::filesystem::path server_cert() const;
  std::filesystem::path server_key() const;
  // The same SANs, signed by the intermediate: the leaf alone, its key, and
  // a chain file with the leaf followed by the intermediate.
  std::filesystem::path intermediate_server_cert() const;
  std::filesystem::path intermediate_server_key() const;
  std::filesystem::path intermediate_server_chain() const;

  // Files of one of the k*Client names. Throw std::out_of_range for any
  // other name. client_chain() is the leaf followed by its issuing
  // intermediate for kIntermediateClient, and the leaf alone otherwise.
  std::filesystem::path client_cert(const std::string& name) const;
  std::filesystem::path client_key(const std::string& name) const;
  std::filesystem::path client_chain(const std::string& name) const;

  // Two CRLs in one PEM file: the root's, which revokes kRevokedClient, and
  // the intermediate's, which is empty. A verifier that checks revocation
  // needs both, because each CRL covers only its own issuer's certificates.
  std::filesystem::path crl() const;

 private:
  struct Files {
    std::filesystem::path cert;
    std::filesystem::path key;
    std::filesystem::path chain;
  };
  const Files& client(const std::string& name) const;

  std::filesystem::path dir_;
  std::map<std::string, Files> clients_;
};

}  // namespace sanctum::test
