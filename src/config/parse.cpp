#include <charconv>
#include <limits>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "config/config.hpp"

namespace sanctum::config {

namespace {

Result<uint16_t> parse_port(std::string_view text, const std::string& whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return make_error(fmt::format("invalid port in \"{}\": expected a number from 0 to 65535", whole));
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<BindAddress> parse_bind_address(const std::string& text) {
  const std::string expected = "expected IPv4:PORT, [IPv6]:PORT or localhost:PORT";
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return make_error(fmt::format("invalid listen address \"{}\": {}", text, expected));
    }
    host = text.substr(1, close - 1);
    port_text = std::string_view(text).substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return make_error(fmt::format("invalid listen address \"{}\": {}", text, expected));
    }
    host = text.substr(0, colon);
    port_text = std::string_view(text).substr(colon + 1);
  }
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (ec) {
    return make_error(fmt::format("invalid listen address \"{}\": \"{}\" is not an IP address; {}",
                                  text, host, expected));
  }
  auto port = parse_port(port_text, text);
  if (!port) {
    return port.error();
  }
  return BindAddress{address.to_string(), *port};
}

std::string to_string(const BindAddress& address) {
  if (address.host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", address.host, address.port);
  }
  return fmt::format("{}:{}", address.host, address.port);
}

Result<UpstreamTarget> parse_upstream(const std::string& text) {
  UpstreamTarget target;
  target.text = text;
  if (text == "echo") {
    target.echo = true;
    return target;
  }
  const std::string_view scheme = "http://";
  if (text.rfind(scheme, 0) != 0) {
    if (text.rfind("https://", 0) == 0) {
      return make_error(fmt::format(
          "invalid upstream \"{}\": https upstreams are not supported; point sanctum at the "
          "model server's plain http address on this host",
          text));
    }
    return make_error(fmt::format(
        "invalid upstream \"{}\": expected \"echo\" or http://HOST:PORT, e.g. http://127.0.0.1:8080",
        text));
  }
  std::string rest = text.substr(scheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    target.base_path = rest.substr(slash);
    while (!target.base_path.empty() && target.base_path.back() == '/') {
      target.base_path.pop_back();
    }
  }
  std::string_view port_text = "80";
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) {
      return make_error(fmt::format("invalid upstream \"{}\": unclosed '[' in the host", text));
    }
    target.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return make_error(fmt::format("invalid upstream \"{}\": expected ':' after ']'", text));
      }
      port_text = std::string_view(authority).substr(close + 2);
    }
  } else {
    auto colon = authority.find(':');
    target.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = std::string_view(authority).substr(colon + 1);
    }
  }
  if (target.host.empty()) {
    return make_error(fmt::format("invalid upstream \"{}\": the host is missing", text));
  }
  auto port = parse_port(port_text, text);
  if (!port) {
    return port.error();
  }
  if (*port == 0) {
    return make_error(fmt::format("invalid upstream \"{}\": port 0 cannot be connected to", text));
  }
  target.port = *port;
  return target;
}

Result<Duration> parse_duration(const std::string& text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  if (text.empty() || ec != std::errc() || value < 0) {
    return make_error(fmt::format(
        "invalid duration \"{}\": expected a number with a unit, e.g. 250ms, 10s, 5m, 1h", text));
  }
  long long milliseconds_per_unit = 0;
  if (unit == "ms") {
    milliseconds_per_unit = 1;
  } else if (unit == "s") {
    milliseconds_per_unit = 1000;
  } else if (unit == "m") {
    milliseconds_per_unit = 60'000;
  } else if (unit == "h") {
    milliseconds_per_unit = 3'600'000;
  } else {
    return make_error(fmt::format(
        "invalid duration \"{}\": unit must be ms, s, m or h, e.g. 250ms, 10s, 5m", text));
  }
  if (value > std::numeric_limits<long long>::max() / milliseconds_per_unit) {
    return make_error(fmt::format("invalid duration \"{}\": the value is too large", text));
  }
  return Duration(value * milliseconds_per_unit);
}

Result<std::size_t> parse_size(const std::string& text) {
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  if (text.empty() || ec != std::errc()) {
    return make_error(fmt::format(
        "invalid size \"{}\": expected a number of bytes with a unit, e.g. 512B, 64KiB, 32MiB",
        text));
  }
  unsigned long long bytes_per_unit = 0;
  if (unit == "B") {
    bytes_per_unit = 1;
  } else if (unit == "KiB") {
    bytes_per_unit = 1ULL << 10;
  } else if (unit == "MiB") {
    bytes_per_unit = 1ULL << 20;
  } else if (unit == "GiB") {
    bytes_per_unit = 1ULL << 30;
  } else {
    return make_error(fmt::format(
        "invalid size \"{}\": unit must be B, KiB, MiB or GiB (powers of 1024), e.g. 64KiB",
        text));
  }
  if (value > std::numeric_limits<std::size_t>::max() / bytes_per_unit) {
    return make_error(fmt::format("invalid size \"{}\": the value is too large", text));
  }
  return static_cast<std::size_t>(value * bytes_per_unit);
}

std::string to_string(const Problem& problem) {
  std::string out;
  if (!problem.file.empty()) {
    out += problem.file;
    if (problem.line > 0) {
      out += fmt::format(":{}", problem.line);
    }
    out += ": ";
  }
  if (!problem.key.empty()) {
    out += problem.key + ": ";
  }
  out += problem.message;
  return out;
}

}  // namespace sanctum::config
