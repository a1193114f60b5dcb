#include "app/gateway.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <future>
#include <iostream>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/token_file.hpp"
#include "obs/counters.hpp"
#include "obs/log.hpp"
#include "obs/status.hpp"
#include "proxy/listener.hpp"
#include "tls/server_tls.hpp"
#include "upstream/echo_server.hpp"
#include "util/fs.hpp"

namespace sanctum::app {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using net::awaitable;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

std::string date_text(std::time_t t) {
  if (t == 0) {
    return "unknown";
  }
  return fmt::format("{:%Y-%m-%d}", fmt::gmtime(t));
}

bool has_tls_listener(const config::Config& config) {
  for (const auto& listener : config.listeners) {
    if (listener.tls) {
      return true;
    }
  }
  return false;
}

// Applies `plain = false`: every non-TLS listener is dropped.
Result<void> apply_no_plain(config::Config& config) {
  if (config.plain) {
    return {};
  }
  std::erase_if(config.listeners, [](const config::ListenerConfig& l) { return !l.tls; });
  if (config.listeners.empty()) {
    return make_error("--no-plain leaves no listener: add a listener with tls = true");
  }
  return {};
}

Result<void> check_problems(const config::Config& config) {
  auto problems = config::validate(config);
  if (problems.empty()) {
    return {};
  }
  std::string text;
  for (const auto& problem : problems) {
    text += (text.empty() ? "" : "\n") + config::to_string(problem);
  }
  return make_error(text);
}

std::vector<obs::CertExpiry> expiries_of(const tls::TlsMaterial& material) {
  std::vector<obs::CertExpiry> out;
  out.push_back({"server", material.server.subject, material.server.serial_hex,
                 material.server.not_after});
  for (const auto& ca : material.client_cas) {
    out.push_back({"ca", ca.subject, ca.serial_hex, ca.not_after});
  }
  return out;
}

void record_reload(const char* trigger, const tls::TlsMaterial* material, std::string error) {
  obs::ReloadStatus status;
  status.time = std::chrono::system_clock::now();
  status.ok = material != nullptr;
  status.trigger = trigger;
  status.error = std::move(error);
  obs::gateway_status().record_reload(status, material != nullptr ? expiries_of(*material)
                                                                  : std::vector<obs::CertExpiry>{});
}

void log_material(const tls::TlsMaterial& material, const char* verb) {
  if (material.crl_expired) {
    obs::logger("reload")->warn(
        "the CRL is past its nextUpdate ({}); its revocations are still enforced, but refresh "
        "it with `sanctum ca crl` and run that daily",
        date_text(material.crl_next_update));
  }
  std::string cas;
  for (const auto& ca : material.client_cas) {
    cas += fmt::format("{}{} (serial {}, expires {})", cas.empty() ? "" : ", ", ca.subject,
                       ca.serial_hex, date_text(ca.not_after));
  }
  obs::logger("reload")->info(
      "{} TLS material: server certificate serial {} expires {}; client CAs: {}; CRL: {}; "
      "session tickets: {}",
      verb, material.server.serial_hex, date_text(material.server.not_after), cas,
      material.crl_next_update == 0
          ? std::string("none")
          : fmt::format("{} revoked, next update {}", material.revoked_count,
                        date_text(material.crl_next_update)),
      material.session_tickets ? "on" : "off");
}

// The modification stamp of every file the TLS material comes from, so a
// change can be noticed without inotify.
std::string stamp_of(const config::TlsConfig& tls) {
  std::string stamp;
  for (const auto* path : {&tls.cert_file, &tls.key_file, &tls.client_ca_file, &tls.crl_file}) {
    struct stat info {};
    if (path->empty() || ::stat(path->c_str(), &info) != 0) {
      stamp += "-|";
      continue;
    }
    stamp += fmt::format("{}.{}:{}:{}|", info.st_mtim.tv_sec, info.st_mtim.tv_nsec, info.st_size,
                         info.st_ino);
  }
  return stamp;
}

bool is_loopback(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  // A wildcard bind accepts loopback connections too, so a local probe can
  // reach it.
  return address.is_loopback() || address.is_unspecified();
}

constexpr const char* kNoLoopbackListener =
    "no listener is bound to a loopback address, so local probes could not reach the gateway; "
    "add a bind address such as 127.0.0.1:PORT or [::1]:PORT to a listener";

// The same rule as after binding, applied to the configured addresses: true
// when one of them is a loopback or wildcard address, or when one is not an
// IP literal and so cannot be judged before it is bound.
bool config_reaches_loopback(const config::Config& config) {
  for (const auto& listener : config.listeners) {
    for (const auto& bind : listener.bind) {
      boost::system::error_code ec;
      auto address = net::ip::make_address(bind.host, ec);
      if (ec || address.is_loopback() || address.is_unspecified()) {
        return true;
      }
    }
  }
  return false;
}

struct Gateway {
  explicit Gateway(config::Config c, RunOptions o)
      : config(std::move(c)), options(std::move(o)),
        pool(config.threads > 0 ? static_cast<std::size_t>(config.threads)
                                : std::max(1u, std::thread::hardware_concurrency())) {}
  ~Gateway() {
    pool.stop();
    for (auto& worker : workers) {
      worker->release_io();
    }
  }
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  config::Config config;
  RunOptions options;
  // Declared before the pool, so they outlive its contexts: destroying a
  // context destroys the connections still in it, and they unregister from
  // their worker. Each worker's own I/O objects go earlier, in ~Gateway().
  std::vector<std::unique_ptr<proxy::Worker>> workers;
  util::IoPool pool;
  tls::TlsHolder tls_holder;
  std::string tls_stamp;
  std::shared_ptr<obs::AccessLog> access_log;
  std::unique_ptr<upstream::EchoServer> echo;
  std::vector<std::unique_ptr<proxy::ListenerRuntime>> runtimes;
  std::vector<std::unique_ptr<proxy::Listener>> listeners;
  std::promise<int> exit_code;
  std::atomic<bool> exited{false};
  bool draining = false;
  std::shared_ptr<spdlog::logger> log = obs::logger("serve");
  // Created before the ready file is written, so a SIGHUP or SIGTERM sent
  // as soon as the gateway reports ready is handled, not fatal.
  std::unique_ptr<net::signal_set> signals;

  Result<void> start();
  Result<void> prepare_runtimes();
  Result<void> bind_listeners();
  Result<void> write_ready_file();
  void reload(const char* trigger);
  void finish(int code) {
    if (!exited.exchange(true)) {
      exit_code.set_value(code);
    }
  }
  void begin_drain();
  awaitable<void> wait_drained();
  awaitable<void> handle_signals();
  awaitable<void> watch_files();
};

Result<void> Gateway::prepare_runtimes() {
  bool needs_echo = false;
  for (const auto& listener : config.listeners) {
    needs_echo = needs_echo || listener.upstream.echo;
  }
  if (needs_echo) {
    upstream::EchoOptions echo_options;
    echo_options.chunk_delay = config.echo.chunk_delay;
    auto server = upstream::EchoServer::start(pool, config::BindAddress{"127.0.0.1", 0}, echo_options);
    if (!server) {
      return server.error();
    }
    echo = std::move(*server);
    log->info("built-in echo upstream listening on 127.0.0.1:{}", echo->port());
  }
  for (const auto& listener : config.listeners) {
    auto runtime = std::make_unique<proxy::ListenerRuntime>();
    runtime->config = listener;
    runtime->upstream = listener.upstream;
    if (listener.upstream.echo) {
      runtime->upstream.host = "127.0.0.1";
      runtime->upstream.port = echo->port();
    }
    runtime->upstream_key = fmt::format("{}:{}", runtime->upstream.host, runtime->upstream.port);
    runtime->upstream_host_header =
        runtime->upstream.host.find(':') != std::string::npos
            ? fmt::format("[{}]:{}", runtime->upstream.host, runtime->upstream.port)
            : runtime->upstream_key;
    runtime->global = &config;
    runtime->tls = listener.tls ? &tls_holder : nullptr;
    runtime->access_log = access_log.get();
    if (listener.auth == config::AuthMode::bearer) {
      auto token = auth::read_token_file(listener.auth_token_file);
      if (!token) {
        return make_error(fmt::format("listener {}: {}", listener.name, token.error().message));
      }
      runtime->bearer_token = std::move(*token);
    }
    runtimes.push_back(std::move(runtime));
  }
  return {};
}

Result<void> Gateway::bind_listeners() {
  for (const auto& runtime : runtimes) {
    auto listener = proxy::Listener::bind(*runtime, pool, workers);
    if (!listener) {
      return listener.error();
    }
    listeners.push_back(std::move(*listener));
  }
  // Checked after every bind, TLS ones included, so an mTLS-only gateway on
  // 127.0.0.1 satisfies it: local probes must always have a way in.
  for (const auto& listener : listeners) {
    for (const auto& endpoint : listener->endpoints()) {
      if (is_loopback(endpoint)) {
        return {};
      }
    }
  }
  return make_error(kNoLoopbackListener);
}

Result<void> Gateway::write_ready_file() {
  if (options.ready_file.empty()) {
    return {};
  }
  nlohmann::json ready;
  ready["pid"] = ::getpid();
  ready["listeners"] = nlohmann::json::array();
  for (const auto& listener : listeners) {
    for (const auto& endpoint : listener->endpoints()) {
      ready["listeners"].push_back({{"name", listener->runtime().config.name},
                                    {"tls", listener->runtime().config.tls},
                                    {"address", endpoint.address().to_string()},
                                    {"port", endpoint.port()}});
    }
  }
  ready["echo_port"] = echo ? echo->port() : 0;
  return util::write_file_atomic(options.ready_file, ready.dump() + "\n",
                                 std::filesystem::perms::owner_read |
                                     std::filesystem::perms::owner_write |
                                     std::filesystem::perms::group_read |
                                     std::filesystem::perms::others_read,
                                 true);
}

Result<void> Gateway::start() {
  if (has_tls_listener(config)) {
    auto material = tls::build_server_tls(config.tls);
    if (!material) {
      return material.error();
    }
    log_material(**material, "loaded");
    record_reload("start", material->get(), "");
    tls_holder.replace(std::move(*material));
    tls_stamp = stamp_of(config.tls);
  }
  auto opened = obs::AccessLog::open(config.log.access_log);
  if (!opened) {
    return opened.error();
  }
  access_log = std::move(*opened);
  for (std::size_t i = 0; i < pool.size(); ++i) {
    workers.push_back(std::make_unique<proxy::Worker>(pool.context(i)));
  }
  if (auto r = prepare_runtimes(); !r) {
    return r;
  }
  if (auto r = bind_listeners(); !r) {
    return r;
  }
  nlohmann::json listener_list = nlohmann::json::array();
  for (const auto& listener : listeners) {
    for (const auto& endpoint : listener->endpoints()) {
      listener_list.push_back({{"name", listener->runtime().config.name},
                               {"tls", listener->runtime().config.tls},
                               {"address", endpoint.address().to_string()},
                               {"port", endpoint.port()},
                               {"upstream", listener->runtime().upstream.text}});
    }
  }
  obs::gateway_status().set_listeners(listener_list);
  if (auto r = write_ready_file(); !r) {
    return r;
  }
  for (const auto& listener : listeners) {
    const auto& runtime = listener->runtime();
    for (const auto& endpoint : listener->endpoints()) {
      log->info("listener {} on {} ({}, upstream {})", runtime.config.name,
                config::to_string(config::BindAddress{endpoint.address().to_string(),
                                                      endpoint.port()}),
                runtime.config.tls ? "mtls"
                : runtime.config.auth == config::AuthMode::bearer ? "plain, bearer token"
                                                                  : "plain, no authentication",
                runtime.upstream.text);
    }
    listener->start();
  }
  return {};
}

void Gateway::reload(const char* trigger) {
  if (!has_tls_listener(config)) {
    log->info("{}: no TLS listener, nothing to reload", trigger);
    return;
  }
  tls_stamp = stamp_of(config.tls);
  auto material = tls::build_server_tls(config.tls);
  auto reload_log = obs::logger("reload");
  if (!material) {
    obs::counters().add(obs::Counter::reload_failed);
    reload_log->warn("{}: reload failed, keeping the previous TLS material: {}", trigger,
                     material.error().message);
    record_reload(trigger, nullptr, material.error().message);
    return;
  }
  obs::counters().add(obs::Counter::reload_ok);
  log_material(**material, "reloaded");
  record_reload(trigger, material->get(), "");
  tls_holder.replace(std::move(*material));
}

void Gateway::begin_drain() {
  draining = true;
  log->info("draining: stopped accepting, {} connection(s) open, waiting up to {}s",
            obs::counters().active_connections.load(),
            std::chrono::duration_cast<std::chrono::seconds>(config.timeouts.drain).count());
  for (auto& listener : listeners) {
    listener->close();
  }
  for (auto& worker : workers) {
    net::post(worker->io, [w = worker.get()] { w->start_drain(); });
  }
  net::co_spawn(pool.context(0), wait_drained(), net::detached);
}

awaitable<void> Gateway::wait_drained() {
  auto deadline = std::chrono::steady_clock::now() + config.timeouts.drain;
  net::steady_timer timer(pool.context(0));
  while (obs::counters().active_connections.load() > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(kUseTuple);
  }
  auto left = obs::counters().active_connections.load();
  if (left > 0) {
    log->warn("drain timeout reached, closing {} connection(s)", left);
  }
  log->info("stopped");
  finish(0);
}

awaitable<void> Gateway::handle_signals() {
  for (;;) {
    auto [ec, signal] = co_await signals->async_wait(kUseTuple);
    if (ec) {
      co_return;
    }
    if (signal == SIGHUP) {
      reload("SIGHUP");
      continue;
    }
    if (draining) {
      log->warn("second {} during drain: stopping now", signal == SIGINT ? "SIGINT" : "SIGTERM");
      finish(0);
      co_return;
    }
    log->info("{} received", signal == SIGINT ? "SIGINT" : "SIGTERM");
    begin_drain();
  }
}

awaitable<void> Gateway::watch_files() {
  if (!has_tls_listener(config)) {
    co_return;
  }
  net::steady_timer timer(pool.context(0));
  while (!draining) {
    timer.expires_after(options.watch_interval);
    co_await timer.async_wait(kUseTuple);
    if (!draining && stamp_of(config.tls) != tls_stamp) {
      reload("TLS file change");
    }
  }
}

}  // namespace

int run_gateway(config::Config config, const RunOptions& options) {
  auto log = obs::logger("serve");
  if (auto r = apply_no_plain(config); !r) {
    std::cerr << "sanctum: " << r.error().message << "\n";
    return 1;
  }
  if (auto r = check_problems(config); !r) {
    std::cerr << r.error().message << "\n";
    return 1;
  }
  // Writes to a client that went away must fail with EPIPE, not kill the
  // process.
  ::signal(SIGPIPE, SIG_IGN);
  auto gateway = std::make_unique<Gateway>(std::move(config), options);
  gateway->signals =
      std::make_unique<net::signal_set>(gateway->pool.context(0), SIGINT, SIGTERM, SIGHUP);
  net::co_spawn(gateway->pool.context(0), gateway->handle_signals(), net::detached);
  if (auto r = gateway->start(); !r) {
    log->error("start-up failed: {}", r.error().message);
    std::cerr << "sanctum: " << r.error().message << "\n";
    return 1;
  }
  net::co_spawn(gateway->pool.context(0), gateway->watch_files(), net::detached);
  gateway->pool.start();
  log->info("ready: {} listener(s), {} worker thread(s), pid {}", gateway->listeners.size(),
            gateway->pool.size(), ::getpid());
  int code = gateway->exit_code.get_future().get();
  gateway->pool.stop();
  return code;
}

int check_gateway(config::Config config) {
  auto fail = [](const std::string& message) {
    std::cerr << message << "\nconfiguration check failed\n";
    return 1;
  };
  if (auto r = apply_no_plain(config); !r) {
    return fail("sanctum: " + r.error().message);
  }
  if (auto r = check_problems(config); !r) {
    return fail(r.error().message);
  }
  if (!config_reaches_loopback(config)) {
    return fail(std::string("sanctum: ") + kNoLoopbackListener);
  }
  std::string tls_summary;
  if (has_tls_listener(config)) {
    auto material = tls::build_server_tls(config.tls);
    if (!material) {
      return fail("sanctum: " + material.error().message);
    }
    tls_summary = fmt::format("; TLS session tickets {}",
                              (*material)->session_tickets ? "on" : "off");
  }
  for (const auto& listener : config.listeners) {
    if (listener.auth == config::AuthMode::bearer) {
      auto token = auth::read_token_file(listener.auth_token_file);
      if (!token) {
        return fail(fmt::format("sanctum: listener {}: {}", listener.name, token.error().message));
      }
    }
  }
  std::string where = config.source_file.empty() ? "flags" : config.source_file.string();
  std::cout << fmt::format("configuration OK ({}): {} listener(s){}\n", where,
                           config.listeners.size(), tls_summary);
  return 0;
}

}  // namespace sanctum::app
