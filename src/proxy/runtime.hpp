#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "obs/access_log.hpp"
#include "proxy/upstream_pool.hpp"
#include "tls/server_tls.hpp"

namespace sanctum::proxy {

// Run-time state of one listener. It is built once at start-up and read
// concurrently by every worker. Only the TLS material inside the holder
// changes after start.
struct ListenerRuntime {
  config::ListenerConfig config;
  config::UpstreamTarget upstream;  // for "echo", the built-in server's address
  const config::Config* global = nullptr;
  tls::TlsHolder* tls = nullptr;    // null for plain listeners
  obs::AccessLog* access_log = nullptr;  // null when the access log is off
  std::string bearer_token;         // bearer listeners only; never logged
};

struct Connection;

// Per-thread state: one per io_context. Only that context's thread touches
// it, so it needs no locks.
struct Worker {
  explicit Worker(boost::asio::io_context& context) : io(context) {}

  boost::asio::io_context& io;
  UpstreamPool upstream_pool;
  std::unordered_set<Connection*> connections;
  bool draining = false;

  // Marks the worker as draining and closes every connection that waits
  // between requests. Connections in an exchange close after it.
  void start_drain();
};

// One client connection, registered with its worker while it lives.
struct Connection {
  std::uint64_t id = 0;
  std::string peer;           // "ip:port"
  bool peer_is_loopback = false;
  bool idle = false;          // waiting for the next request head
  std::function<void()> close_socket;
};

// Process-wide connection id source.
std::uint64_t next_connection_id();

}  // namespace sanctum::proxy
