#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

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
  std::string upstream_key;         // "host:port", the upstream pool's key
  std::string upstream_host_header; // the Host header sent upstream
  const config::Config* global = nullptr;
  tls::TlsHolder* tls = nullptr;    // null for plain listeners
  obs::AccessLog* access_log = nullptr;  // null when the access log is off
  std::string bearer_token;         // bearer listeners only; never logged
};

struct Connection;

// Per-thread state: one per io_context. Only that context's thread touches
// it, so it needs no locks.
struct Worker {
  explicit Worker(boost::asio::io_context& context) : io(context) { sweep_timer.emplace(context); }

  boost::asio::io_context& io;
  UpstreamPool upstream_pool;
  std::unordered_set<Connection*> connections;
  bool draining = false;
  std::optional<boost::asio::steady_timer> sweep_timer;  // reset by release_io()
  bool sweeping = false;
  // Free 16 KiB blocks that upstream responses are read into, and free
  // strings for message heads, reused by the next exchanges.
  std::vector<std::unique_ptr<char[]>> read_blocks;
  std::vector<std::string> head_texts;

  // Marks the worker as draining and closes every connection that waits
  // between requests. Connections in an exchange close after it.
  void start_drain();

  // Registers a connection and makes sure the sweep runs while any is
  // registered.
  void add(Connection& connection);
  void remove(Connection& connection);

  // Destroys the worker's I/O objects (the sweep timer and the idle
  // upstream connections) once its context has stopped running. Their
  // context must outlive them, while the connections that the context
  // destroys last still unregister from the worker, so the worker outlives
  // the context and gives up its I/O objects first.
  void release_io();

 private:
  // Every kSweepInterval: cancels the operation of each connection whose
  // deadline has passed, and arms the client watch of each exchange that
  // has waited on its upstream for kWatchDelay.
  void sweep();
};

// How often a worker checks deadlines, and so how late a timeout may fire.
inline constexpr std::chrono::milliseconds kSweepInterval{100};
// How long an exchange runs before its client socket is watched for a
// disconnect. Short exchanges never pay for the watch.
inline constexpr std::chrono::milliseconds kWatchDelay{100};

class ClientWatch;

// A steady clock read from the kernel's last tick (CLOCK_MONOTONIC_COARSE):
// its resolution is a few milliseconds, and a read costs a fraction of a
// precise one. Deadlines are checked every kSweepInterval, so that
// resolution is enough, and an exchange arms them several times.
struct CoarseClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CoarseClock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

// One client connection, registered with its worker while it lives.
//
// Timeouts are deadlines kept here rather than timers: arming one is a clock
// read, and the worker's sweep cancels the socket's pending operation once
// the deadline has passed. The operation then fails with
// operation_aborted, and deadline_expired is set when that was a timeout.
struct Connection {
  using Clock = CoarseClock;

  std::uint64_t id = 0;
  std::string peer;           // "ip:port"
  bool peer_is_loopback = false;
  bool idle = false;          // waiting for the next request head
  std::function<void()> close_socket;

  Clock::time_point deadline = Clock::time_point::max();
  boost::asio::ip::tcp::socket* deadline_socket = nullptr;
  bool deadline_expired = false;
  ClientWatch* watch = nullptr;  // set while an exchange is forwarded

  // Bounds the next operations on `socket` to `limit` from now.
  void arm_deadline(boost::asio::ip::tcp::socket& socket, config::Duration limit) {
    deadline_socket = &socket;
    deadline = Clock::now() + limit;
    deadline_expired = false;
  }
  void disarm_deadline() {
    deadline_socket = nullptr;
    deadline = Clock::time_point::max();
  }
};

// Process-wide connection id source.
std::uint64_t next_connection_id();

}  // namespace sanctum::proxy
