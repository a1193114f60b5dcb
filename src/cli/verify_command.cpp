// `sanctum verify`: the post-migration checks (src/ops/verify.hpp) as one
// command. Exit codes: 0 no check failed, 1 at least one FAIL, 2 bad usage
// or an unloadable --config.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "ca/ca.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "ops/token.hpp"
#include "ops/verify.hpp"

namespace sanctum::cli {

namespace fs = std::filesystem;

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct Flags {
  std::string config_file;
  std::string host;
  std::optional<std::uint16_t> mtls_port;
  std::optional<std::uint16_t> old_port;
  std::string cert_dir;
  std::string client = "sanctum-server";
  std::string token_file;
  std::vector<std::string> probe_logs;
  std::string max_age = "15m";
  std::string timeout = "5s";
  std::string now;  // hidden: a fixed current time for tests
  bool json = false;
};

// The address a local client uses to reach `bind`: wildcards become the
// loopback address of their family.
std::string reachable_host(const config::BindAddress& bind) {
  if (bind.host == "0.0.0.0") {
    return "127.0.0.1";
  }
  if (bind.host == "::") {
    return "::1";
  }
  return bind.host;
}

bool is_loopback_or_wildcard(const std::string& host) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  return !ec && (address.is_loopback() || address.is_unspecified());
}

// Fills options from --config: the mTLS listener's address (a loopback one
// when it has several), the plain listener's port as the retired port, the
// bearer listener's token file, and the folder of tls.client_ca as the
// certificate folder.
Result<void> apply_config(const Flags& flags, ops::VerifyOptions& options) {
  std::vector<config::Problem> problems;
  auto loaded = config::load(flags.config_file, problems);
  if (!loaded) {
    std::string details;
    for (const auto& problem : problems) {
      details += "\n  " + config::to_string(problem);
    }
    return make_error(fmt::format("cannot load {}: {}{}", flags.config_file,
                                  loaded.error().message, details));
  }

  const config::ListenerConfig* tls_listener = nullptr;
  bool old_port_from_config = false;
  for (const auto& listener : loaded->listeners) {
    if (listener.tls && tls_listener == nullptr) {
      tls_listener = &listener;
    }
    if (listener.auth == config::AuthMode::bearer && options.token_file.empty()) {
      options.token_file = listener.auth_token_file;
    }
    // A config that still lists the plain listener (served with --no-plain
    // after the migration) names the port that must now be closed.
    if (!listener.tls && !listener.bind.empty() && !old_port_from_config) {
      options.old_port = listener.bind.front().port;
      old_port_from_config = true;
    }
  }
  if (tls_listener == nullptr || tls_listener->bind.empty()) {
    return make_error(fmt::format("{} has no TLS listener to check; pass --mtls-port",
                                  flags.config_file));
  }
  const config::BindAddress* chosen = &tls_listener->bind.front();
  for (const auto& bind : tls_listener->bind) {
    if (is_loopback_or_wildcard(bind.host)) {
      chosen = &bind;
      break;
    }
  }
  options.host = reachable_host(*chosen);
  options.mtls_port = chosen->port;
  if (!loaded->tls.client_ca_file.empty()) {
    options.cert_dir = loaded->tls.client_ca_file.parent_path();
  }
  return {};
}

Result<ops::VerifyOptions> build_options(const Flags& flags) {
  ops::VerifyOptions options;
  options.now = ops::Clock::now();
  if (!flags.now.empty()) {
    auto now = ops::parse_now(flags.now);
    if (!now) {
      return make_error("--now: " + now.error().message);
    }
    options.now = *now;
  }

  if (!flags.config_file.empty()) {
    if (auto applied = apply_config(flags, options); !applied) {
      return applied.error();
    }
  }
  if (!flags.host.empty()) {
    options.host = flags.host;
  }
  if (flags.mtls_port) {
    options.mtls_port = *flags.mtls_port;
  }
  if (flags.old_port) {
    options.old_port = *flags.old_port;
  }
  if (options.old_port == options.mtls_port) {
    return make_error(fmt::format("--old-port {} is the mTLS port: give the port that was "
                                  "retired",
                                  options.old_port));
  }

  if (!flags.cert_dir.empty()) {
    options.cert_dir = flags.cert_dir;
  } else if (options.cert_dir.empty()) {
    options.cert_dir = ca::resolve_state_dir(std::nullopt).dir;
  }
  options.client = flags.client;
  if (!flags.token_file.empty()) {
    options.token_file = fs::absolute(flags.token_file);
  } else if (options.token_file.empty()) {
    options.token_file = ops::default_token_path();
  }
  for (const auto& log : flags.probe_logs) {
    options.probe_logs.emplace_back(log);
  }

  auto max_age = ops::parse_age(flags.max_age);
  if (!max_age) {
    return make_error("--max-age: " + max_age.error().message);
  }
  options.max_age = *max_age;
  auto timeout = config::parse_duration(flags.timeout);
  if (!timeout) {
    return make_error("--timeout: " + timeout.error().message);
  }
  options.timeout = *timeout;
  return options;
}

void print_results(const std::vector<ops::CheckResult>& results) {
  int counts[3] = {0, 0, 0};
  for (const auto& result : results) {
    ++counts[static_cast<int>(result.status)];
    std::cout << fmt::format("{}  {}\n      {}\n", ops::to_string(result.status), result.title,
                             result.summary);
    for (const auto& [key, value] : result.evidence) {
      std::cout << fmt::format("      {}: {}\n", key, value);
    }
  }
  std::cout << fmt::format("\n{} PASS, {} WARN, {} FAIL\n", counts[0], counts[1], counts[2]);
}

}  // namespace

void add_verify_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<Flags>();
  auto* verify = app.add_subcommand(
      "verify",
      "Check a host after the move to mTLS only: mTLS serves, plain HTTP is refused, the "
      "retired port is unbound, probes use mTLS, the bearer token is retired");
  verify->add_option("--config", flags->config_file,
                     "Gateway config: the mTLS port comes from its first TLS listener, the token "
                     "file from its bearer listener, the certificate folder from tls.client_ca");
  verify->add_option("--host", flags->host,
                     "IP address the probes connect to (default: from --config, else 127.0.0.1)");
  verify->add_option("--mtls-port", flags->mtls_port,
                     "Port of the mTLS listener (default: from --config, else 1337)");
  verify->add_option("--old-port", flags->old_port,
                     "Retired port that must have no listener (default: the plain listener's "
                     "port in --config, else 1338)");
  verify->add_option("--cert-dir", flags->cert_dir,
                     "Folder with ca.crt and clients/NAME.crt and .key (default: the folder of "
                     "tls.client_ca in --config, else $SANCTUM_HOME, else ~/.sanctum/certs)");
  verify->add_option("--client", flags->client,
                     "Client certificate name under clients/ (default sanctum-server)");
  verify->add_option("--token-file", flags->token_file,
                     "Bearer token path that must not exist (default: from --config, else "
                     "~/.sanctum/secrets/gateway.token)");
  verify->add_option("--probe-log", flags->probe_logs,
                     "Probe log whose last JSON line must say \"transport\": \"mtls\"; "
                     "repeatable");
  verify->add_option("--max-age", flags->max_age,
                     "Maximum age of a probe log's last line: s, m, h or d units (default 15m)");
  verify->add_option("--timeout", flags->timeout,
                     "Limit for each network probe, e.g. 5s or 500ms (default 5s)");
  verify->add_flag("--json", flags->json, "Print one JSON object instead of the table");
  // Hidden: lets tests fix the current time.
  verify->add_option("--now", flags->now, "")->group("");
  verify->callback([flags, &exit_code] {
    auto options = build_options(*flags);
    if (!options) {
      std::cerr << "sanctum verify: " << options.error().message << "\n";
      exit_code = kExitUsage;
      return;
    }
    auto results = ops::run_verify(*options, ops::mtls_get);
    if (flags->json) {
      std::cout << ops::to_json(results).dump(2) << "\n";
    } else {
      print_results(results);
    }
    exit_code = ops::verify_passed(results) ? 0 : kExitFailed;
  });
}

}  // namespace sanctum::cli
