// VerifiedCache spans and bounds, and validity_span() on certificates built
// in memory with only their validity dates set.

#include <openssl/x509.h>

#include <gtest/gtest.h>

#include "tls/handles.hpp"
#include "tls/verified_cache.hpp"

namespace sanctum::tls {
namespace {

CertDigest digest_numbered(std::size_t n) {
  CertDigest digest{};
  for (std::size_t i = 0; i < sizeof n; ++i) {
    digest[i] = static_cast<unsigned char>(n >> (8 * i));
  }
  digest[31] = 0x5a;
  return digest;
}

X509Ptr cert_valid(std::time_t not_before, std::time_t not_after) {
  X509Ptr cert(X509_new());
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before);
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after);
  return cert;
}

constexpr std::time_t kDay = 86400;
constexpr std::time_t kStart = 1'800'000'000;

TEST(VerifiedCache, ValidFromNotBeforeToNotAfter) {
  VerifiedCache cache;
  auto digest = digest_numbered(1);
  cache.insert(digest, kStart, kStart + kDay);
  EXPECT_FALSE(cache.contains(digest, kStart - 1));
  EXPECT_TRUE(cache.contains(digest, kStart));
  EXPECT_TRUE(cache.contains(digest, kStart + kDay - 1));
  EXPECT_FALSE(cache.contains(digest, kStart + kDay));
}

TEST(VerifiedCache, UnknownDigestIsNotContained) {
  VerifiedCache cache;
  cache.insert(digest_numbered(1), kStart, kStart + kDay);
  EXPECT_FALSE(cache.contains(digest_numbered(2), kStart + 1));
}

TEST(VerifiedCache, SecondInsertReplacesSpan) {
  VerifiedCache cache;
  auto digest = digest_numbered(7);
  cache.insert(digest, kStart, kStart + kDay);
  cache.insert(digest, kStart + kDay, kStart + 2 * kDay);
  EXPECT_FALSE(cache.contains(digest, kStart + 1));
  EXPECT_TRUE(cache.contains(digest, kStart + kDay + 1));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(VerifiedCache, FullCacheStartsOver) {
  VerifiedCache cache;
  for (std::size_t i = 0; i < VerifiedCache::kMaxEntries; ++i) {
    cache.insert(digest_numbered(i), kStart, kStart + kDay);
  }
  EXPECT_EQ(cache.size(), VerifiedCache::kMaxEntries);
  // Replacing a present entry keeps the others.
  cache.insert(digest_numbered(0), kStart, kStart + kDay);
  EXPECT_EQ(cache.size(), VerifiedCache::kMaxEntries);
  cache.insert(digest_numbered(VerifiedCache::kMaxEntries), kStart, kStart + kDay);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(cache.contains(digest_numbered(0), kStart + 1));
  EXPECT_TRUE(cache.contains(digest_numbered(VerifiedCache::kMaxEntries), kStart + 1));
}

TEST(ValiditySpan, IsTheIntersectionOfTheChain) {
  auto leaf = cert_valid(kStart + kDay, kStart + 30 * kDay);
  auto ca = cert_valid(kStart, kStart + 20 * kDay);
  STACK_OF(X509)* chain = sk_X509_new_null();
  sk_X509_push(chain, leaf.get());
  sk_X509_push(chain, ca.get());
  auto span = validity_span(chain);
  sk_X509_free(chain);
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->first, kStart + kDay);
  EXPECT_EQ(span->second, kStart + 20 * kDay);
}

TEST(ValiditySpan, EmptyOrUnreadableChainHasNone) {
  EXPECT_FALSE(validity_span(nullptr).has_value());
  STACK_OF(X509)* chain = sk_X509_new_null();
  EXPECT_FALSE(validity_span(chain).has_value());
  X509Ptr undated(X509_new());
  sk_X509_push(chain, undated.get());
  EXPECT_FALSE(validity_span(chain).has_value());
  sk_X509_free(chain);
}

TEST(DigestOf, NullCertificateHasNone) { EXPECT_FALSE(digest_of(nullptr).has_value()); }

}  // namespace
}  // namespace sanctum::tls
