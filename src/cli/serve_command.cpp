#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/gateway.hpp"
#include "ca/ca.hpp"
#include "cli/commands.hpp"
#include "config/flags.hpp"
#include "obs/log.hpp"

namespace sanctum::cli {

namespace fs = std::filesystem;

namespace {

struct ServeOptions {
  config::ServeFlags flags;
  std::string config_file;
  std::string ready_file;
  std::string log_level;
  std::string chunk_delay;
  std::string drain_timeout;
  bool check = false;
};

// Without --cert, --key and --client-ca, a TLS listener uses the files that
// `sanctum ca` writes into its state folder.
void fill_default_tls_files(config::ServeFlags& flags) {
  if (!flags.auth_token_file.empty()) {
    return;
  }
  fs::path dir = ca::resolve_state_dir(std::nullopt).dir;
  if (flags.cert.empty()) {
    flags.cert = (dir / "server.crt").string();
  }
  if (flags.key.empty()) {
    flags.key = (dir / "server.key").string();
  }
  std::error_code ec;
  if (flags.client_ca.empty()) {
    // ca-bundle.crt contains the old and the new CA while a rotation is under
    // way. Older state folders have only ca.crt.
    flags.client_ca =
        (fs::exists(dir / "ca-bundle.crt", ec) ? dir / "ca-bundle.crt" : dir / "ca.crt").string();
  }
  if (flags.crl.empty() && fs::exists(dir / "crl.pem", ec)) {
    flags.crl = (dir / "crl.pem").string();
  }
}

void print_problems(const std::vector<config::Problem>& problems) {
  for (const auto& problem : problems) {
    std::cerr << config::to_string(problem) << "\n";
  }
}

Result<config::Config> build_config(ServeOptions& options) {
  std::vector<config::Problem> problems;
  Result<config::Config> built = make_error("");
  if (!options.config_file.empty()) {
    if (config::has_listener_flags(options.flags)) {
      return make_error(
          "--listen, --cert, --key, --client-ca, --crl, --session-tickets, --upstream, --allow "
          "and --auth-token-file describe a listener and cannot be combined with --config; "
          "put them in a [[listener]] or [tls] table of the file");
    }
    built = config::load(options.config_file, problems);
    if (built) {
      config::apply_overrides(options.flags, *built);
    }
  } else {
    if (options.flags.listen.empty()) {
      options.flags.listen.push_back("127.0.0.1:1337");
    }
    if (options.flags.upstream.empty()) {
      if (const char* env = std::getenv("SANCTUM_UPSTREAM"); env != nullptr && *env != '\0') {
        options.flags.upstream = env;
      } else {
        return make_error(
            "missing --upstream: give the model server's URL (for example "
            "http://127.0.0.1:8080) or `echo` for the built-in diagnostic model; "
            "SANCTUM_UPSTREAM works too");
      }
    }
    fill_default_tls_files(options.flags);
    built = config::config_from_flags(options.flags, problems);
  }
  if (!problems.empty()) {
    print_problems(problems);
    return make_error(fmt::format("{} problem(s) in {}", problems.size(),
                                  options.config_file.empty() ? "the flags" : options.config_file));
  }
  if (!built) {
    return built;
  }
  config::Config& config = *built;
  if (!options.log_level.empty()) {
    config.log.level = options.log_level;
  }
  if (!options.chunk_delay.empty()) {
    auto delay = config::parse_duration(options.chunk_delay);
    if (!delay) {
      return make_error("--chunk-delay: " + delay.error().message);
    }
    config.echo.chunk_delay = *delay;
  }
  if (!options.drain_timeout.empty()) {
    auto drain = config::parse_duration(options.drain_timeout);
    if (!drain) {
      return make_error("--drain-timeout: " + drain.error().message);
    }
    config.timeouts.drain = *drain;
  }
  return built;
}

int run_serve(ServeOptions& options) {
  auto config = build_config(options);
  if (!config) {
    std::cerr << "sanctum serve: " << config.error().message << "\n";
    return 1;
  }
  if (!obs::setup_logging(config->log.level)) {
    std::cerr << "sanctum serve: invalid log level \"" << config->log.level
              << "\": use trace, debug, info, warn, error or off\n";
    return 1;
  }
  if (options.check) {
    return app::check_gateway(std::move(*config));
  }
  app::RunOptions run;
  run.ready_file = options.ready_file;
  return app::run_gateway(std::move(*config), run);
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServeOptions>();
  auto* serve = app.add_subcommand(
      "serve",
      "Run the mutual-TLS gateway. Quick form: one listener from flags. Full form: --config FILE.\n"
      "The CA state folder is $SANCTUM_HOME, else ~/.sanctum/certs.");
  auto& f = options->flags;
  serve->add_option("--config", options->config_file,
                    "TOML config file with any number of listeners (see docs/configuration.md)")
      ->type_name("FILE");
  serve->add_option("--listen", f.listen,
                    "Bind address IPv4:PORT, [IPv6]:PORT or localhost:PORT; repeatable "
                    "(default 127.0.0.1:1337)")
      ->type_name("ADDR:PORT");
  serve->add_option("--cert", f.cert,
                    "Server certificate chain, PEM (default: server.crt in the CA state folder)")
      ->type_name("FILE");
  serve->add_option("--key", f.key,
                    "Server private key, PEM (default: server.key in the CA state folder)")
      ->type_name("FILE");
  serve->add_option("--client-ca", f.client_ca,
                    "CA bundle that client certificates must chain to (default: ca-bundle.crt, "
                    "else ca.crt, in the CA state folder)")
      ->type_name("FILE");
  serve->add_option("--crl", f.crl,
                    "Certificate revocation list, PEM (default: crl.pem in the CA state folder "
                    "when it exists)")
      ->type_name("FILE");
  serve->add_flag("--session-tickets", f.session_tickets,
                  "Issue TLS session tickets so clients can resume without a full handshake "
                  "(default off: every connection makes a full handshake)");
  serve->add_option("--upstream", f.upstream,
                    "Model server URL http://HOST:PORT[/PREFIX], or `echo` for the built-in "
                    "diagnostic model (environment: SANCTUM_UPSTREAM)")
      ->type_name("URL|echo");
  serve->add_option("--allow", f.allow,
                    "Client identity let through: certificate CN, DNS SAN or URI SAN; repeatable; "
                    "default: every certificate the client CA verifies")
      ->type_name("NAME");
  serve->add_option("--auth-token-file", f.auth_token_file,
                    "Serve plain HTTP with bearer-token authentication instead of mTLS; the file "
                    "holds the token and must have mode 0600")
      ->type_name("FILE");
  serve->add_option_function<std::string>(
      "--access-log", [options](const std::string& v) { options->flags.access_log = v; },
      "Access log: a file path, `-` for stdout, or an empty string for none (default -)");
  serve->add_option_function<int>(
      "--threads", [options](const int& v) { options->flags.threads = v; },
      "Worker threads; 0 means one per CPU core (default 0)");
  serve->add_flag("--no-plain", f.no_plain,
                  "Drop every non-TLS listener; fails when no TLS listener is left");
  serve->add_option("--log-level", options->log_level,
                    "Process log level: trace, debug, info, warn, error or off (default info)")
      ->type_name("LEVEL");
  serve->add_option("--chunk-delay", options->chunk_delay,
                    "Pause between streamed chunks of the built-in echo model, e.g. 50ms "
                    "(default 0ms)")
      ->type_name("DURATION");
  serve->add_option("--drain-timeout", options->drain_timeout,
                    "On SIGTERM or SIGINT, how long in-flight exchanges may finish, e.g. 30s "
                    "(default 30s)")
      ->type_name("DURATION");
  serve->add_option("--ready-file", options->ready_file,
                    "Write a JSON file with the bound addresses and ports once every listener "
                    "is bound")
      ->type_name("FILE");
  serve->add_flag("--check", options->check,
                  "Validate the config, certificates, keys, CA, CRL and token files, then exit "
                  "0 (usable) or 1 (not usable) without binding any port");
  serve->callback([options, &exit_code] { exit_code = run_serve(*options); });
}

}  // namespace sanctum::cli
