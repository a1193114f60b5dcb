#include "client/url.hpp"

#include <cctype>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace sanctum::client {

namespace {

constexpr std::string_view kScheme = "https://";

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) {
      return false;
    }
  }
  return true;
}

Result<std::uint16_t> parse_port(std::string_view digits, const std::string& url) {
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return make_error(fmt::format("invalid port \"{}\" in URL {}", digits, url));
  }
  unsigned long value = std::stoul(std::string(digits));
  if (value == 0 || value > 65535) {
    return make_error(fmt::format("port {} in URL {} is out of range 1-65535", value, url));
  }
  return static_cast<std::uint16_t>(value);
}

bool is_valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  for (char c : name) {
    bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
    if (!allowed) {
      return false;
    }
  }
  return name.front() != '.' && name.front() != '-';
}

// Splits "HOST[:PORT]" or "[IPV6][:PORT]" into `url`.
Result<void> parse_authority(std::string_view authority, HttpsUrl& url) {
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return make_error(fmt::format("missing ']' after the IPv6 address in URL {}", url.text));
    }
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      return make_error(fmt::format("unexpected text after ']' in URL {}", url.text));
    }
    port = rest.empty() ? rest : rest.substr(1);
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address_v6(std::string(host), ec);
    if (ec) {
      return make_error(fmt::format("invalid IPv6 address \"{}\" in URL {}", host, url.text));
    }
    url.host = address.to_string();
    url.host_is_ip = true;
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address_v4(std::string(host), ec);
    if (!ec) {
      url.host = address.to_string();
      url.host_is_ip = true;
    } else if (is_valid_dns_name(host)) {
      url.host = std::string(host);
    } else {
      return make_error(fmt::format("invalid host \"{}\" in URL {}", host, url.text));
    }
  }
  if (!port.empty() || authority.ends_with(':')) {
    auto parsed = parse_port(port, url.text);
    if (!parsed) {
      return parsed.error();
    }
    url.port = *parsed;
  }
  return {};
}

}  // namespace

std::string HttpsUrl::authority() const {
  if (host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

Result<HttpsUrl> parse_https_url(const std::string& text) {
  HttpsUrl url;
  url.text = text;
  if (starts_with_ignoring_case(text, "http://")) {
    return make_error(fmt::format(
        "{} is a plain-HTTP URL; this client speaks only HTTPS with a client certificate "
        "(mTLS), so use https://HOST:PORT",
        text));
  }
  if (!starts_with_ignoring_case(text, kScheme)) {
    return make_error(fmt::format("invalid URL \"{}\": expected https://HOST[:PORT][/PREFIX]", text));
  }

  std::string_view rest = std::string_view(text).substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return make_error(fmt::format("URL {} must not contain a query string or fragment", text));
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) {
    return make_error(fmt::format("URL {} must not contain user info", text));
  }
  if (authority.empty()) {
    return make_error(fmt::format("URL {} has no host", text));
  }

  auto parsed = parse_authority(authority, url);
  if (!parsed) {
    return parsed.error();
  }

  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (path.ends_with('/')) {
      path.remove_suffix(1);
    }
    url.base_path = std::string(path);
  }
  return url;
}

}  // namespace sanctum::client
