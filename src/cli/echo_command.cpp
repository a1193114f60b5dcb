#include <csignal>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "obs/log.hpp"
#include "upstream/echo_server.hpp"
#include "util/io_pool.hpp"

namespace sanctum::cli {

namespace net = boost::asio;

namespace {

struct EchoCommandOptions {
  std::string listen = "127.0.0.1:8080";
  std::string chunk_delay = "0ms";
  int threads = 1;
  bool mlx_style = false;
  std::string log_level = "info";
};

// The echo server speaks plain HTTP without authentication, so it may only
// bind loopback addresses, like a plain open listener of `serve`.
Result<config::BindAddress> loopback_address(const std::string& text) {
  auto address = config::parse_bind_address(text);
  if (!address) {
    return address.error();
  }
  boost::system::error_code ec;
  auto ip = net::ip::make_address(address->host, ec);
  if (ec || !ip.is_loopback()) {
    return make_error(fmt::format(
        "--listen {}: the echo server has no authentication and binds only loopback addresses "
        "(127.0.0.0/8 or [::1])",
        text));
  }
  return address;
}

int run_echo(const EchoCommandOptions& options) {
  if (!obs::setup_logging(options.log_level)) {
    std::cerr << "sanctum echo: invalid log level \"" << options.log_level
              << "\": use trace, debug, info, warn, error or off\n";
    return 2;
  }
  auto address = loopback_address(options.listen);
  if (!address) {
    std::cerr << "sanctum echo: " << address.error().message << "\n";
    return 2;
  }
  auto delay = config::parse_duration(options.chunk_delay);
  if (!delay) {
    std::cerr << "sanctum echo: --chunk-delay: " << delay.error().message << "\n";
    return 2;
  }
  if (options.threads < 1) {
    std::cerr << "sanctum echo: --threads " << options.threads << ": must be 1 or more\n";
    return 2;
  }

  upstream::EchoOptions echo_options;
  echo_options.chunk_delay = *delay;
  echo_options.mlx_style = options.mlx_style;
  util::IoPool pool(static_cast<std::size_t>(options.threads));
  // SIGINT and SIGTERM close the acceptor and stop every context.
  net::signal_set signals(pool.context(0), SIGINT, SIGTERM);
  auto server = upstream::EchoServer::start(pool, *address, echo_options);
  if (!server) {
    std::cerr << "sanctum echo: " << server.error().message << "\n";
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  auto log = obs::logger("echo");
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (!ec) {
      log->info("{} received, stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
    }
    (*server)->close();
    // This handler runs on a pool thread, which cannot join itself. So it
    // only stops the contexts, and pool.finish() below joins the threads.
    for (std::size_t i = 0; i < pool.size(); ++i) {
      pool.context(i).stop();
    }
  });
  log->info("echo upstream listening on {}:{} ({} thread(s), chunk delay {} ms{})",
            address->host, (*server)->port(), options.threads, delay->count(),
            options.mlx_style ? ", mlx_lm.server framing" : "");
  pool.start();
  pool.finish();
  return 0;
}

}  // namespace

void add_echo_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<EchoCommandOptions>();
  auto* echo = app.add_subcommand(
      "echo",
      "Run the built-in echo model as a plain-HTTP OpenAI-compatible server on a loopback "
      "address, without the gateway");
  echo->add_option("--listen", options->listen,
                   "Loopback bind address IPv4:PORT or [::1]:PORT; port 0 picks a free port "
                   "(default 127.0.0.1:8080)");
  echo->add_option("--chunk-delay", options->chunk_delay,
                   "Pause between two events of a streamed response, e.g. 5ms (default 0ms)");
  echo->add_option("--threads", options->threads, "Worker threads (default 1)");
  echo->add_flag("--mlx-style", options->mlx_style,
                 "Answer like mlx_lm.server: streams in HTTP/1.0 ended by closing the "
                 "connection, and 411 for a POST without Content-Length");
  echo->add_option("--log-level", options->log_level,
                   "Log level: trace, debug, info, warn, error or off (default info)");
  echo->callback([options, &exit_code] { exit_code = run_echo(*options); });
}

}  // namespace sanctum::cli
