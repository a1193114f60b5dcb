#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "tls/identity.hpp"

namespace sanctum::auth {

// The facts one authorisation decision uses. Everything comes from the
// socket and the verified certificate, except the headers named here. The
// policy reads those as data (a bearer token to check, and the Origin and
// Host a browser would send), never as proof of who is calling.
struct RequestFacts {
  const tls::PeerIdentity* identity = nullptr;  // verified client certificate, mTLS only
  bool peer_is_loopback = false;                 // from the socket's peer address
  std::string_view authorization;                // Authorization header value
  std::string_view origin;                       // Origin header value
  std::string_view host;                         // Host header value
};

struct Policy {
  config::AuthMode mode = config::AuthMode::mtls;
  const std::vector<std::string>* allow = nullptr;  // mTLS allow-list; empty allows all
  bool loopback_bypass = false;
  std::string_view token;  // expected bearer token
};

struct Decision {
  bool allowed = false;
  unsigned status = 0;    // 401 or 403 when denied
  std::string transport;  // mtls, plain-bearer, plain-loopback, plain-open
  std::string reason;     // for logs and the error body; never contains a secret
  std::string code;       // OpenAI-style error code
};

// Decides whether a request may pass. Pure: no I/O, no clocks.
// - mtls: the identity must match an allow-list entry (CN, DNS SAN or URI
//   SAN, exact match) unless the list is empty.
// - bearer: a correct "Bearer TOKEN" passes as plain-bearer; a wrong token
//   is refused even from loopback; with no token, a loopback peer passes as
//   plain-loopback when the bypass is on, unless the request carries an
//   Origin header or a Host that is not local (DNS-rebinding defence).
// - none: passes as plain-open.
Decision decide(const Policy& policy, const RequestFacts& facts);

// True when `identity` has `entry` as its CN, a DNS SAN or a URI SAN.
bool identity_matches(const tls::PeerIdentity& identity, std::string_view entry);

// Compares two secrets in time that depends only on the length of the
// digests, not on where they differ: both are hashed with SHA-256 and the
// digests compared with CRYPTO_memcmp. `bytes_compared`, when given,
// receives how many digest bytes were examined (always 32).
bool constant_time_equal(std::string_view a, std::string_view b,
                         std::size_t* bytes_compared = nullptr);

// True for "localhost", "127.x.y.z", "[::1]" and "::1", with or without a port.
bool is_local_host_header(std::string_view host);

}  // namespace sanctum::auth
