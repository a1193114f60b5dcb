// Parsing and validation of the names, SANs, dates and enum values that
// the CA accepts from the command line and the index.

#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <utility>

#include <fmt/format.h>

#include "ca/ca.hpp"

namespace sanctum::ca {

namespace {

constexpr std::array<std::pair<KeyType, std::string_view>, 3> kKeyTypeNames = {{
    {KeyType::ecdsa_p256, "ecdsa-p256"},
    {KeyType::ed25519, "ed25519"},
    {KeyType::rsa_3072, "rsa-3072"},
}};

// Spelled as in RFC 5280's CRLReason, which is also how `openssl crl -text`
// prints them apart from spacing.
constexpr std::array<std::pair<RevocationReason, std::string_view>, 7> kReasonNames = {{
    {RevocationReason::unspecified, "unspecified"},
    {RevocationReason::key_compromise, "keyCompromise"},
    {RevocationReason::ca_compromise, "cACompromise"},
    {RevocationReason::affiliation_changed, "affiliationChanged"},
    {RevocationReason::superseded, "superseded"},
    {RevocationReason::cessation_of_operation, "cessationOfOperation"},
    {RevocationReason::privilege_withdrawn, "privilegeWithdrawn"},
}};

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_dns_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    if (!is_alnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

// A host name of labels separated by dots; the first label may be "*".
bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  size_t start = 0;
  bool first = true;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!(first && label == "*" && dot != std::string_view::npos) && !is_dns_label(label)) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
    first = false;
  }
}

// "scheme:rest" with an RFC 3986 scheme and printable ASCII without spaces.
bool is_uri(std::string_view uri) {
  size_t colon = uri.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 == uri.size()) {
    return false;
  }
  if (!((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z'))) {
    return false;
  }
  for (char c : uri.substr(0, colon)) {
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  for (char c : uri) {
    if (c <= ' ' || c > '~') {
      return false;
    }
  }
  return true;
}

std::optional<std::string> canonical_ip(const std::string& text) {
  unsigned char address[16];
  char printed[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, text.c_str(), address) == 1) {
    return std::string(inet_ntop(AF_INET, address, printed, sizeof printed));
  }
  if (inet_pton(AF_INET6, text.c_str(), address) == 1) {
    return std::string(inet_ntop(AF_INET6, address, printed, sizeof printed));
  }
  return std::nullopt;
}

}  // namespace

Result<KeyType> parse_key_type(std::string_view text) {
  for (const auto& [type, name] : kKeyTypeNames) {
    if (text == name) {
      return type;
    }
  }
  return make_error(fmt::format("unknown key type '{}': use ecdsa-p256, ed25519 or rsa-3072", text));
}

std::string to_string(KeyType type) {
  for (const auto& [known, name] : kKeyTypeNames) {
    if (known == type) {
      return std::string(name);
    }
  }
  return "unknown";
}

Result<RevocationReason> parse_revocation_reason(std::string_view text) {
  for (const auto& [reason, name] : kReasonNames) {
    if (text == name) {
      return reason;
    }
  }
  std::string accepted;
  for (const auto& [reason, name] : kReasonNames) {
    accepted += accepted.empty() ? "" : ", ";
    accepted += name;
  }
  return make_error(fmt::format("unknown revocation reason '{}': use one of {}", text, accepted));
}

std::string to_string(RevocationReason reason) {
  for (const auto& [known, name] : kReasonNames) {
    if (known == reason) {
      return std::string(name);
    }
  }
  return "unspecified";
}

std::string to_string(Role role) { return role == Role::client ? "client" : "server"; }

Result<void> validate_name(std::string_view name) {
  auto invalid = [&](std::string_view why) {
    return make_error(fmt::format("invalid certificate name '{}': {}", name, why));
  };
  if (name.empty() || name.size() > 64) {
    return invalid("use 1 to 64 characters");
  }
  if (!is_alnum(name.front())) {
    return invalid("start with a letter or digit");
  }
  for (char c : name) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') {
      return invalid("use only letters, digits, '.', '_' and '-'");
    }
  }
  if (name.size() >= 5 && name.substr(name.size() - 5) == ".prev") {
    return invalid("names ending in \".prev\" are kept for replaced certificates");
  }
  return {};
}

Result<std::string> normalize_san(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return make_error(fmt::format("invalid subjectAltName '{}': {}", text, why));
  };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return invalid("write it as DNS:host, IP:address or URI:scheme:value");
  }
  std::string kind(text.substr(0, colon));
  std::string value(text.substr(colon + 1));
  if (kind == "DNS") {
    if (!is_dns_name(value)) {
      return invalid("the DNS name must be labels of letters, digits and '-' separated by dots");
    }
    return "DNS:" + value;
  }
  if (kind == "IP") {
    auto ip = canonical_ip(value);
    if (!ip) {
      return invalid("the value is not an IPv4 or IPv6 address (write IPv6 without brackets)");
    }
    return "IP:" + *ip;
  }
  if (kind == "URI") {
    if (!is_uri(value)) {
      return invalid("the URI needs a scheme and no spaces, for example URI:spiffe://host/name");
    }
    return "URI:" + value;
  }
  return invalid("the type must be DNS, IP or URI, in capitals");
}

std::string format_time(TimePoint time) {
  std::time_t seconds = Clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

Result<TimePoint> parse_time(std::string_view text) {
  std::tm parts{};
  char trailing = 0;
  std::string copy(text);
  int fields = std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &parts.tm_year,
                           &parts.tm_mon, &parts.tm_mday, &parts.tm_hour, &parts.tm_min,
                           &parts.tm_sec, &trailing);
  if (fields != 6 || copy.size() != 20) {
    return make_error(fmt::format("invalid time '{}': expected YYYY-MM-DDTHH:MM:SSZ", text));
  }
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  return Clock::from_time_t(timegm(&parts));
}

Result<TimePoint> parse_end_of_day(std::string_view date) {
  std::tm parts{};
  std::string copy(date);
  char trailing = 0;
  int fields = std::sscanf(copy.c_str(), "%4d-%2d-%2d%c", &parts.tm_year, &parts.tm_mon,
                           &parts.tm_mday, &trailing);
  if (fields != 3 || copy.size() != 10 || parts.tm_mon < 1 || parts.tm_mon > 12 ||
      parts.tm_mday < 1 || parts.tm_mday > 31) {
    return make_error(fmt::format("invalid date '{}': expected YYYY-MM-DD", date));
  }
  int year = parts.tm_year;
  int month = parts.tm_mon;
  int day = parts.tm_mday;
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  parts.tm_hour = 23;
  parts.tm_min = 59;
  parts.tm_sec = 59;
  std::time_t seconds = timegm(&parts);
  // timegm normalises 2025-02-30 to March 2nd; reject dates it had to move.
  std::tm check{};
  gmtime_r(&seconds, &check);
  if (check.tm_year + 1900 != year || check.tm_mon + 1 != month || check.tm_mday != day) {
    return make_error(fmt::format("invalid date '{}': no such day", date));
  }
  return Clock::from_time_t(seconds);
}

}  // namespace sanctum::ca
