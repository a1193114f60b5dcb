#include "config/flags.hpp"

#include <fmt/format.h>

namespace sanctum::config {

namespace fs = std::filesystem;

namespace {

fs::path absolute_or_empty(const std::string& text) {
  if (text.empty()) {
    return {};
  }
  return fs::absolute(text).lexically_normal();
}

std::string access_log_path(const std::string& text) {
  if (text == "-" || text.empty()) {
    return text;
  }
  return absolute_or_empty(text).string();
}

void report(std::vector<Problem>& problems, std::string flag, std::string message) {
  problems.push_back(Problem{"", 0, std::move(flag), std::move(message)});
}

ListenerConfig listener_from_flags(const ServeFlags& flags, std::vector<Problem>& problems) {
  ListenerConfig listener;
  listener.name = kFlagListenerName;
  for (const std::string& text : flags.listen) {
    auto address = parse_bind_address(text);
    if (address) {
      listener.bind.push_back(*address);
    } else {
      report(problems, "--listen", address.error().message);
    }
  }
  if (!flags.upstream.empty()) {
    auto target = parse_upstream(flags.upstream);
    if (target) {
      listener.upstream = *target;
    } else {
      report(problems, "--upstream", target.error().message);
    }
  }
  listener.allow = flags.allow;
  if (!flags.auth_token_file.empty()) {
    listener.tls = false;
    listener.auth = AuthMode::bearer;
    listener.auth_token_file = absolute_or_empty(flags.auth_token_file);
  }
  return listener;
}

}  // namespace

bool has_listener_flags(const ServeFlags& flags) {
  return !flags.listen.empty() || !flags.cert.empty() || !flags.key.empty() ||
         !flags.client_ca.empty() || !flags.crl.empty() || flags.session_tickets ||
         !flags.upstream.empty() || !flags.allow.empty() || !flags.auth_token_file.empty();
}

void apply_overrides(const ServeFlags& flags, Config& config) {
  if (flags.no_plain) {
    config.plain = false;
  }
  if (flags.threads) {
    config.threads = *flags.threads;
  }
  if (flags.access_log) {
    config.log.access_log = access_log_path(*flags.access_log);
  }
}

Result<Config> config_from_flags(const ServeFlags& flags, std::vector<Problem>& problems) {
  const std::size_t problems_before = problems.size();
  bool tls_flags = !flags.cert.empty() || !flags.key.empty() || !flags.client_ca.empty() ||
                   !flags.crl.empty() || flags.session_tickets || !flags.allow.empty();
  if (!flags.auth_token_file.empty() && tls_flags) {
    report(problems, "--auth-token-file",
           "makes a plain bearer listener, which takes no --cert, --key, --client-ca, --crl, "
           "--session-tickets or --allow: drop those flags, or drop --auth-token-file for an "
           "mTLS listener");
  }

  Config config;
  config.tls.cert_file = absolute_or_empty(flags.cert);
  config.tls.key_file = absolute_or_empty(flags.key);
  config.tls.client_ca_file = absolute_or_empty(flags.client_ca);
  config.tls.crl_file = absolute_or_empty(flags.crl);
  config.tls.session_tickets = flags.session_tickets;
  config.listeners.push_back(listener_from_flags(flags, problems));
  apply_overrides(flags, config);

  const std::size_t count = problems.size() - problems_before;
  if (count > 0) {
    return make_error(fmt::format("{} problem{} in the command-line flags", count,
                                  count == 1 ? "" : "s"));
  }
  return config;
}

}  // namespace sanctum::config
