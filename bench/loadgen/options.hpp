#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sanctum::bench {

// The command-line settings of one load generator run.
struct Options {
  std::string mode;                 // keepalive, handshake, sse or idle
  std::string label;                // copied into the JSON output ("sanctum", "nginx", ...)
  std::string host = "127.0.0.1";   // loopback literal only
  std::uint16_t port = 0;
  bool plain = false;               // plain HTTP instead of mTLS (the upstream directly)
  std::string ca_file;              // CA that the server certificate must chain to
  std::string cert_file;            // client certificate, PEM
  std::string key_file;             // client private key, PEM
  std::string server_name = "localhost";  // SNI and the name checked in the server certificate

  int connections = 8;                      // concurrent connections (workers)
  std::chrono::milliseconds duration{5000};  // measured window
  std::chrono::milliseconds warmup{1000};    // run before the window, not counted
  std::uint64_t max_operations = 5'000'000;  // hard cap on requests, handshakes or streams
  std::chrono::milliseconds io_timeout{5000};  // per socket operation

  bool resume = false;     // handshake mode: resume TLS sessions from tickets
  int words = 32;          // sse mode: words in the prompt; the echo streams one event per word
  int idle_connections = 1000;                 // idle mode
  std::chrono::milliseconds hold{1000};        // idle mode: settle time before the second RSS read
  std::vector<int> cpu_pids;  // processes whose CPU time (and RSS, in idle mode) is measured
};

}  // namespace sanctum::bench
