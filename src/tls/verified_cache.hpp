#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <openssl/x509.h>

#include "tls/identity.hpp"

namespace sanctum::tls {

// Client certificates whose chain verification succeeded under one TLS
// context, with the time span in which that result holds: from the latest
// notBefore to the earliest notAfter of the verified chain.
//
// A verification depends only on the certificate's bytes, the trust store,
// the revocation set and the time. The first three never change for one TLS
// context (a reload builds a new context and so an empty cache), so a
// certificate seen again within its span needs no second chain verification.
// The client still proves possession of its key in every handshake
// (CertificateVerify), which the cache does not touch.
//
// Thread-safe: every worker thread of a listener shares one context.
class VerifiedCache {
 public:
  // Entries kept at most. Inserting into a full cache empties it first: a
  // gateway's clients number in the tens, so a full cache means a client
  // that presents a new certificate each time, and no entry is worth more
  // than another.
  static constexpr std::size_t kMaxEntries = 4096;

  // True when `digest` was verified and `now` lies within its span. Like
  // OpenSSL's own check, a certificate is valid from its notBefore up to but
  // not including its notAfter.
  bool contains(const CertDigest& digest, std::time_t now) const;

  // Records a successful verification, valid from `valid_from` up to but
  // not including `valid_until`.
  void insert(const CertDigest& digest, std::time_t valid_from, std::time_t valid_until);

  std::size_t size() const;

 private:
  struct Span {
    std::time_t from = 0;
    std::time_t until = 0;
  };
  struct DigestHash {
    std::size_t operator()(const CertDigest& digest) const {
      std::size_t value = 0;
      std::memcpy(&value, digest.data(), sizeof value);  // already uniform
      return value;
    }
  };

  mutable std::mutex mutex_;
  std::unordered_map<CertDigest, Span, DigestHash> entries_;
};

// The time span in which every certificate of `chain` is within its
// validity dates: {latest notBefore, earliest notAfter}. Nothing when a date
// cannot be read.
std::optional<std::pair<std::time_t, std::time_t>> validity_span(STACK_OF(X509) * chain);

}  // namespace sanctum::tls
