// sanctum-loadgen: the load generator behind bench/run. It drives one
// server over loopback in one of four modes and prints one JSON object.

#include <iostream>

#include <boost/asio/ip/address.hpp>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "options.hpp"
#include "run.hpp"

namespace {

using sanctum::bench::Options;

std::chrono::milliseconds milliseconds_of(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

// Only loopback targets: the load generator must never send traffic off
// this host.
void require_loopback(const std::string& host) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (ec || !address.is_loopback()) {
    throw std::runtime_error("--host " + host +
                             ": only loopback IP literals (127.0.0.0/8, ::1) are accepted");
  }
}

nlohmann::json run_mode(const Options& options) {
  if (options.mode == "keepalive") {
    return sanctum::bench::run_keepalive(options);
  }
  if (options.mode == "handshake") {
    return sanctum::bench::run_handshake(options);
  }
  if (options.mode == "sse") {
    return sanctum::bench::run_sse(options);
  }
  return sanctum::bench::run_idle(options);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  double duration_s = 5;
  double warmup_s = 1;
  double hold_s = 1;
  CLI::App app{"sanctum-loadgen: drives one server over loopback and prints one JSON object"};
  app.add_option("--mode", options.mode, "keepalive, handshake, sse or idle")
      ->required()
      ->check(CLI::IsMember({"keepalive", "handshake", "sse", "idle"}));
  app.add_option("--label", options.label, "Name copied into the output, e.g. nginx");
  app.add_option("--host", options.host, "Server address, a loopback IP literal (default 127.0.0.1)");
  app.add_option("--port", options.port, "Server port")->required();
  app.add_flag("--plain", options.plain, "Plain HTTP instead of mTLS, to measure an upstream directly");
  app.add_option("--ca", options.ca_file, "CA certificate the server certificate must chain to, PEM");
  app.add_option("--cert", options.cert_file, "Client certificate, PEM");
  app.add_option("--key", options.key_file, "Client private key, PEM");
  app.add_option("--server-name", options.server_name,
                 "SNI and the name the server certificate must carry (default localhost)");
  app.add_option("--connections", options.connections, "Concurrent connections (default 8)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--duration", duration_s, "Measured seconds (default 5)")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", warmup_s, "Seconds run before the measured window (default 1)")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--max-operations", options.max_operations,
                 "Stop after this many requests, handshakes or streams (default 5000000)");
  app.add_flag("--resume", options.resume, "handshake: resume sessions from TLS 1.3 tickets");
  app.add_option("--words", options.words, "sse: words in the prompt, one event each (default 32)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--idle-connections", options.idle_connections,
                 "idle: connections to hold (default 1000)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--hold", hold_s, "idle: seconds between the last connection and the RSS read")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--pid", options.cpu_pids,
                 "Server process whose CPU time (and VmRSS in idle mode) is measured; repeatable");
  CLI11_PARSE(app, argc, argv);
  options.duration = milliseconds_of(duration_s);
  options.warmup = milliseconds_of(warmup_s);
  options.hold = milliseconds_of(hold_s);

  try {
    require_loopback(options.host);
    if (!options.plain && (options.ca_file.empty() || options.cert_file.empty() ||
                           options.key_file.empty())) {
      throw std::runtime_error("mTLS needs --ca, --cert and --key (or --plain)");
    }
    nlohmann::json out = run_mode(options);
    out["mode"] = options.mode;
    out["label"] = options.label;
    out["port"] = options.port;
    out["plain"] = options.plain;
    out["connections_requested"] = options.connections;
    std::cout << out.dump() << "\n";
    return out.value("operations", 1) > 0 || options.mode == "idle" ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "sanctum-loadgen: " << e.what() << "\n";
    return 1;
  }
}
