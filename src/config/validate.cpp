// Cross-field rules over a loaded Config, one function per rule. Apart from
// stat() and open() on the files the config names, nothing here touches the
// system.
//
// With plain = false the gateway drops plain listeners before it binds
// anything. Their text is still checked (names, addresses, auth settings),
// so turning `plain` back on for a rollback cannot reveal new errors. The
// checks that concern a running listener are skipped for them: the bearer
// token file, which is expected to be retired while plain listeners are off,
// and the rule against open listeners off loopback, since a dropped listener
// exposes nothing.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "config/config.hpp"

namespace sanctum::config {

namespace fs = std::filesystem;

namespace {

class ProblemList {
 public:
  explicit ProblemList(const Config& config) : file_(config.source_file.string()) {}

  void add(int line, std::string key, std::string message) {
    problems_.push_back(Problem{file_, line, std::move(key), std::move(message)});
  }

  std::vector<Problem> take() { return std::move(problems_); }

 private:
  std::string file_;
  std::vector<Problem> problems_;
};

std::string listener_key(std::size_t index, std::string_view key) {
  return fmt::format("listener[{}].{}", index, key);
}

// Describes the listener for messages: its name and, from a file, its line.
std::string describe(const ListenerConfig& listener) {
  if (listener.source_line > 0) {
    return fmt::format("listener \"{}\" (line {})", listener.name, listener.source_line);
  }
  return fmt::format("listener \"{}\"", listener.name);
}

bool is_served(const Config& config, const ListenerConfig& listener) {
  return listener.tls || config.plain;
}

// Returns "" when `path` is a regular file that opens for reading, otherwise
// the reason it is not usable.
std::string unreadable_reason(const fs::path& path) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec) {
    return ec.message();
  }
  if (!fs::is_regular_file(status)) {
    return "not a regular file";
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::strerror(errno);
  }
  ::close(fd);
  return "";
}

bool is_loopback(const BindAddress& address) {
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(address.host, ec);
  return !ec && ip.is_loopback();
}

bool is_wildcard(const BindAddress& address) {
  return address.host == "0.0.0.0" || address.host == "::";
}

bool is_ipv6(const BindAddress& address) { return address.host.find(':') != std::string::npos; }

// True when binding both addresses would fail with "address in use": the same
// host and port, or a wildcard and any host of its family on one port. Port 0
// picks a free port each time, so it never collides.
// NOTE: "::" is taken to cover IPv6 only. That holds only if the gateway sets
// IPV6_V6ONLY on its sockets; without it, [::]:P also takes 0.0.0.0:P.
bool binds_collide(const BindAddress& a, const BindAddress& b) {
  if (a.port == 0 || a.port != b.port) {
    return false;
  }
  if (a.host == b.host) {
    return true;
  }
  return is_ipv6(a) == is_ipv6(b) && (is_wildcard(a) || is_wildcard(b));
}

bool is_valid_name(const std::string& name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
}

// HTTP field names are tokens (RFC 9110, section 5.6.2).
bool is_http_token(const std::string& text) {
  constexpr std::string_view kTokenSymbols = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kTokenSymbols.find(c) != std::string_view::npos;
  });
}

void check_has_listener(const Config& config, ProblemList& problems) {
  if (config.listeners.empty()) {
    problems.add(0, "listener",
                 "no listener is configured: add a [[listener]] table with name, bind and upstream");
  }
}

void check_listener_names(const Config& config, ProblemList& problems) {
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    if (listener.name.empty()) {
      problems.add(listener.source_line, listener_key(i, "name"),
                   "missing: every listener needs a name such as \"mtls\"");
      continue;
    }
    if (!is_valid_name(listener.name)) {
      problems.add(listener.source_line, listener_key(i, "name"),
                   fmt::format("invalid name \"{}\": use only letters, digits, '.', '_' and '-'",
                               listener.name));
      continue;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (config.listeners[j].name == listener.name) {
        problems.add(listener.source_line, listener_key(i, "name"),
                     fmt::format("duplicate name: {} already uses \"{}\"",
                                 describe(config.listeners[j]), listener.name));
        break;
      }
    }
  }
}

void check_bind_present(const Config& config, ProblemList& problems) {
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    if (listener.bind.empty()) {
      problems.add(listener.source_line, listener_key(i, "bind"),
                   "missing: give at least one address, such as \"127.0.0.1:1337\"");
    }
  }
}

void check_bind_unique(const Config& config, ProblemList& problems) {
  struct Seen {
    const BindAddress* address;
    const ListenerConfig* listener;
  };
  std::vector<Seen> seen;
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    for (std::size_t k = 0; k < listener.bind.size(); ++k) {
      const BindAddress& address = listener.bind[k];
      for (const Seen& earlier : seen) {
        if (binds_collide(*earlier.address, address)) {
          problems.add(listener.source_line, fmt::format("listener[{}].bind[{}]", i, k),
                       fmt::format("{} collides with {} of {}", to_string(address),
                                   to_string(*earlier.address), describe(*earlier.listener)));
          break;
        }
      }
      seen.push_back(Seen{&address, &listener});
    }
  }
}

void check_upstream_present(const Config& config, ProblemList& problems) {
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    if (!listener.upstream.echo && listener.upstream.host.empty()) {
      problems.add(listener.source_line, listener_key(i, "upstream"),
                   "missing: set \"echo\" or the model server's URL, such as "
                   "\"http://127.0.0.1:8080\"");
    }
  }
}

// The command of sanctum's own CA that writes the file behind `key`.
std::string_view creating_command(std::string_view key) {
  if (key == "tls.crl") {
    return "`sanctum ca crl` writes it";
  }
  if (key == "tls.client_ca") {
    return "`sanctum ca init` creates it";
  }
  return "`sanctum ca issue NAME --server` writes the certificate and key, after `sanctum ca "
         "init`";
}

void check_tls_file(const fs::path& path, std::string_view key, std::string_view what,
                    bool required, const ListenerConfig& listener, ProblemList& problems) {
  if (path.empty()) {
    if (required) {
      problems.add(0, std::string(key),
                   fmt::format("missing: {} needs {}", describe(listener), what));
    }
    return;
  }
  std::string reason = unreadable_reason(path);
  if (reason.empty()) {
    return;
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    reason += fmt::format("; {}, or point {} at an existing file", creating_command(key), key);
  }
  problems.add(0, std::string(key),
               fmt::format("cannot read {} ({}): {}", what, path.string(), reason));
}

// Every TLS listener shares [tls], so its files are checked once and the
// messages name the first TLS listener.
void check_tls_material(const Config& config, ProblemList& problems) {
  auto first_tls = std::find_if(config.listeners.begin(), config.listeners.end(),
                                [](const ListenerConfig& listener) { return listener.tls; });
  if (first_tls == config.listeners.end()) {
    return;
  }
  const TlsConfig& tls = config.tls;
  check_tls_file(tls.cert_file, "tls.cert", "the server certificate", true, *first_tls, problems);
  check_tls_file(tls.key_file, "tls.key", "the server private key", true, *first_tls, problems);
  check_tls_file(tls.client_ca_file, "tls.client_ca", "the client CA certificate", true,
                 *first_tls, problems);
  check_tls_file(tls.crl_file, "tls.crl", "the CRL", false, *first_tls, problems);
}

void check_auth_matches_transport(const Config& config, ProblemList& problems) {
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    std::string key = listener_key(i, "auth");
    if (listener.tls && listener.auth == AuthMode::bearer) {
      problems.add(listener.source_line, key,
                   "auth = \"bearer\" needs tls = false; TLS listeners authenticate clients by "
                   "certificate (auth = \"mtls\")");
    } else if (listener.tls && listener.auth == AuthMode::none) {
      problems.add(listener.source_line, key,
                   "auth = \"none\" needs tls = false; TLS listeners always require a client "
                   "certificate (auth = \"mtls\")");
    } else if (!listener.tls && listener.auth == AuthMode::mtls) {
      problems.add(listener.source_line, key,
                   "auth = \"mtls\" needs tls = true; a plain listener takes auth = \"bearer\" "
                   "or \"none\"");
    }
  }
}

// Returns "" when the token file is usable, otherwise what is wrong with it.
std::string token_file_problem(const fs::path& path) {
  std::string reason = unreadable_reason(path);
  if (!reason.empty()) {
    return fmt::format("cannot read token file {}: {}", path.string(), reason);
  }
  std::error_code ec;
  if (fs::file_size(path, ec) == 0 || ec) {
    return fmt::format("token file {} is empty: write the bearer token into it", path.string());
  }
  fs::perms mode = fs::status(path, ec).permissions();
  constexpr fs::perms kGroupOrOthers = fs::perms::group_all | fs::perms::others_all;
  if ((mode & kGroupOrOthers) != fs::perms::none) {
    return fmt::format("token file {} has permissions for group or others (mode {:04o}): "
                       "run chmod 600 {}",
                       path.string(), static_cast<unsigned>(mode), path.string());
  }
  return "";
}

void check_bearer_token_file(const Config& config, ProblemList& problems) {
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    std::string key = listener_key(i, "auth_token_file");
    if (listener.auth != AuthMode::bearer) {
      if (!listener.auth_token_file.empty()) {
        problems.add(listener.source_line, key, "applies only to auth = \"bearer\"");
      }
      continue;
    }
    if (!is_served(config, listener)) {
      continue;
    }
    if (listener.auth_token_file.empty()) {
      problems.add(listener.source_line, key,
                   "missing: auth = \"bearer\" needs a file that contains the token");
      continue;
    }
    std::string problem = token_file_problem(listener.auth_token_file);
    if (!problem.empty()) {
      problems.add(listener.source_line, key, problem);
    }
  }
}

void check_auth_options(const Config& config, ProblemList& problems) {
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    if (listener.loopback_bypass && listener.auth != AuthMode::bearer) {
      problems.add(listener.source_line, listener_key(i, "loopback_bypass"),
                   "applies only to auth = \"bearer\"");
    }
    if (!listener.allow.empty() && listener.auth != AuthMode::mtls) {
      problems.add(listener.source_line, listener_key(i, "allow"),
                   "applies only to auth = \"mtls\", which names clients by certificate");
    }
    bool open = !listener.tls && listener.auth == AuthMode::none;
    if (listener.unsafe_open && !open) {
      problems.add(listener.source_line, listener_key(i, "unsafe_open"),
                   "applies only to plain listeners with auth = \"none\"");
    }
  }
}

// A plain listener without authentication gives the model server to anyone
// who can reach its address, so off loopback it needs an explicit opt-in.
void check_open_listener_on_loopback(const Config& config, ProblemList& problems) {
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    bool open = !listener.tls && listener.auth == AuthMode::none;
    if (!open || listener.unsafe_open || !is_served(config, listener)) {
      continue;
    }
    for (std::size_t k = 0; k < listener.bind.size(); ++k) {
      if (is_loopback(listener.bind[k])) {
        continue;
      }
      problems.add(listener.source_line, fmt::format("listener[{}].bind[{}]", i, k),
                   fmt::format("{} is not a loopback address and this plain listener has no "
                               "authentication: bind 127.0.0.1 or ::1, set auth = \"bearer\", or "
                               "set unsafe_open = true to let anyone who reaches it in",
                               to_string(listener.bind[k])));
    }
  }
}

void check_plain_off_leaves_listener(const Config& config, ProblemList& problems) {
  if (config.plain || config.listeners.empty()) {
    return;
  }
  bool any_tls = std::any_of(config.listeners.begin(), config.listeners.end(),
                             [](const ListenerConfig& listener) { return listener.tls; });
  if (!any_tls) {
    problems.add(0, "plain",
                 "--no-plain (plain = false) leaves no listener: add a listener with tls = true");
  }
}

void check_threads(const Config& config, ProblemList& problems) {
  if (config.threads < 0) {
    problems.add(0, "threads",
                 fmt::format("{} is negative: use 0 for one thread per core, or a positive count",
                             config.threads));
  }
}

void check_limits(const Config& config, ProblemList& problems) {
  const Limits& limits = config.limits;
  const std::pair<const char*, std::size_t> values[] = {
      {"limits.max_body_bytes", limits.max_body_bytes},
      {"limits.max_header_bytes", limits.max_header_bytes},
      {"limits.max_connections", limits.max_connections},
      {"limits.upstream_pool_size", limits.upstream_pool_size},
  };
  for (const auto& [key, value] : values) {
    if (value == 0) {
      problems.add(0, key, "must be greater than 0");
    }
  }
}

void check_timeouts(const Config& config, ProblemList& problems) {
  const Timeouts& timeouts = config.timeouts;
  const std::pair<const char*, Duration> values[] = {
      {"timeouts.handshake", timeouts.handshake},
      {"timeouts.request_head", timeouts.request_head},
      {"timeouts.request_body", timeouts.request_body},
      {"timeouts.keepalive_idle", timeouts.keepalive_idle},
      {"timeouts.upstream_connect", timeouts.upstream_connect},
      {"timeouts.upstream_first_byte", timeouts.upstream_first_byte},
      {"timeouts.stream_idle", timeouts.stream_idle},
  };
  for (const auto& [key, value] : values) {
    if (value <= Duration::zero()) {
      problems.add(0, key, "must be longer than 0ms");
    }
  }
  if (timeouts.drain < Duration::zero()) {
    problems.add(0, "timeouts.drain", "must be 0ms or longer");
  }
  if (config.echo.chunk_delay < Duration::zero()) {
    problems.add(0, "echo.chunk_delay", "must be 0ms or longer");
  }
}

void check_identity_header(const Config& config, ProblemList& problems) {
  if (!config.identity_header.empty() && !is_http_token(config.identity_header)) {
    problems.add(0, "identity_header",
                 fmt::format("\"{}\" is not a valid HTTP header name: use letters, digits and "
                             "'-', such as \"X-Sanctum-Client\", or \"\" to send no header",
                             config.identity_header));
  }
}

}  // namespace

std::vector<Problem> validate(const Config& config) {
  ProblemList problems(config);
  check_has_listener(config, problems);
  check_listener_names(config, problems);
  check_bind_present(config, problems);
  check_bind_unique(config, problems);
  check_upstream_present(config, problems);
  check_auth_matches_transport(config, problems);
  check_auth_options(config, problems);
  check_bearer_token_file(config, problems);
  check_open_listener_on_loopback(config, problems);
  check_plain_off_leaves_listener(config, problems);
  check_tls_material(config, problems);
  check_threads(config, problems);
  check_limits(config, problems);
  check_timeouts(config, problems);
  check_identity_header(config, problems);
  return problems.take();
}

}  // namespace sanctum::config
