#include "auth/policy.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>

#include <boost/asio/ip/address.hpp>

namespace sanctum::auth {

namespace {

Decision deny(unsigned status, std::string transport, std::string reason, std::string code) {
  return Decision{false, status, std::move(transport), std::move(reason), std::move(code)};
}

Decision allow(std::string transport) {
  return Decision{true, 0, std::move(transport), {}, {}};
}

Decision decide_mtls(const Policy& policy, const RequestFacts& facts) {
  if (facts.identity == nullptr) {
    return deny(403, "mtls", "no verified client certificate", "client_certificate_required");
  }
  if (policy.allow == nullptr || policy.allow->empty()) {
    return allow("mtls");
  }
  for (const auto& entry : *policy.allow) {
    if (identity_matches(*facts.identity, entry)) {
      return allow("mtls");
    }
  }
  return deny(403, "mtls",
              "client certificate \"" + facts.identity->display_name() +
                  "\" is not in this listener's allow list",
              "client_not_allowed");
}

Decision decide_bearer(const Policy& policy, const RequestFacts& facts) {
  constexpr std::string_view kScheme = "Bearer ";
  if (!facts.authorization.empty()) {
    bool has_scheme = facts.authorization.size() > kScheme.size() &&
                      std::equal(kScheme.begin(), kScheme.end(), facts.authorization.begin(),
                                 [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    if (has_scheme &&
        constant_time_equal(facts.authorization.substr(kScheme.size()), policy.token)) {
      return allow("plain-bearer");
    }
    return deny(401, "plain-bearer", "invalid bearer token", "invalid_api_key");
  }
  if (policy.loopback_bypass && facts.peer_is_loopback) {
    if (!facts.origin.empty()) {
      return deny(403, "plain-loopback",
                  "requests with an Origin header cannot use the loopback bypass; present the "
                  "bearer token",
                  "origin_not_allowed");
    }
    if (!is_local_host_header(facts.host)) {
      return deny(403, "plain-loopback",
                  "the Host header must name localhost or a loopback address to use the "
                  "loopback bypass",
                  "host_not_allowed");
    }
    return allow("plain-loopback");
  }
  return deny(401, "plain-bearer", "missing bearer token", "missing_api_key");
}

}  // namespace

Decision decide(const Policy& policy, const RequestFacts& facts) {
  switch (policy.mode) {
    case config::AuthMode::mtls:
      return decide_mtls(policy, facts);
    case config::AuthMode::bearer:
      return decide_bearer(policy, facts);
    case config::AuthMode::none:
      return allow("plain-open");
  }
  return deny(403, "", "unknown authentication mode", "forbidden");
}

bool identity_matches(const tls::PeerIdentity& identity, std::string_view entry) {
  if (entry.empty()) {
    return false;
  }
  if (identity.common_name == entry) {
    return true;
  }
  auto equals = [&](const std::string& name) { return name == entry; };
  return std::any_of(identity.dns_names.begin(), identity.dns_names.end(), equals) ||
         std::any_of(identity.uris.begin(), identity.uris.end(), equals);
}

bool constant_time_equal(std::string_view a, std::string_view b, std::size_t* bytes_compared) {
  unsigned char digest_a[SHA256_DIGEST_LENGTH];
  unsigned char digest_b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), digest_a);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), digest_b);
  if (bytes_compared != nullptr) {
    *bytes_compared = SHA256_DIGEST_LENGTH;
  }
  return CRYPTO_memcmp(digest_a, digest_b, SHA256_DIGEST_LENGTH) == 0;
}

bool is_local_host_header(std::string_view host) {
  if (host.empty()) {
    return false;
  }
  std::string_view name = host;
  if (name.front() == '[') {
    auto close = name.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    name = name.substr(1, close - 1);
  } else if (std::count(name.begin(), name.end(), ':') == 1) {
    name = name.substr(0, name.find(':'));
  }
  std::string lowered(name);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lowered == "localhost" || lowered == "localhost.") {
    return true;
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(lowered, ec);
  return !ec && address.is_loopback();
}

}  // namespace sanctum::auth
