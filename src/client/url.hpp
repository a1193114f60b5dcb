#pragma once

#include <cstdint>
#include <string>

#include "util/result.hpp"

namespace sanctum::client {

// An https:// URL split into what a connection needs.
struct HttpsUrl {
  std::string host;          // DNS name or IP literal, without brackets
  std::uint16_t port = 443;
  std::string base_path;     // prefix for every request path, no trailing slash; "" for none
  bool host_is_ip = false;   // true for IPv4 and IPv6 literals
  std::string text;          // the URL as written, for messages and logs

  // HOST:PORT for the Host header, with brackets around an IPv6 literal.
  std::string authority() const;
};

// Parses "https://HOST[:PORT][/PREFIX]". HOST is a DNS name, an IPv4 literal
// or a bracketed IPv6 literal; PORT defaults to 443. Every other scheme is an
// error, http:// included, because this client has no plain-HTTP code path.
// User info, a query string or a fragment is an error too.
Result<HttpsUrl> parse_https_url(const std::string& text);

}  // namespace sanctum::client
