#include "tls/verified_cache.hpp"

#include <algorithm>

namespace sanctum::tls {

bool VerifiedCache::contains(const CertDigest& digest, std::time_t now) const {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(digest);
  return found != entries_.end() && found->second.from <= now && now < found->second.until;
}

void VerifiedCache::insert(const CertDigest& digest, std::time_t valid_from,
                           std::time_t valid_until) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= kMaxEntries && !entries_.contains(digest)) {
    entries_.clear();
  }
  entries_[digest] = Span{valid_from, valid_until};
}

std::size_t VerifiedCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::optional<std::pair<std::time_t, std::time_t>> validity_span(STACK_OF(X509) * chain) {
  if (chain == nullptr || sk_X509_num(chain) == 0) {
    return std::nullopt;
  }
  std::time_t from = 0;
  std::time_t until = 0;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* cert = sk_X509_value(chain, i);
    std::time_t not_before = time_of(X509_get0_notBefore(cert));
    std::time_t not_after = time_of(X509_get0_notAfter(cert));
    if (not_before == 0 || not_after == 0) {
      return std::nullopt;
    }
    from = i == 0 ? not_before : std::max(from, not_before);
    until = i == 0 ? not_after : std::min(until, not_after);
  }
  return std::pair{from, until};
}

}  // namespace sanctum::tls
