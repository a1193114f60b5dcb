#pragma once

#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "proxy/runtime.hpp"
#include "util/io_pool.hpp"
#include "util/result.hpp"

namespace sanctum::proxy {

// The bound sockets of one listener and their accept loops. Accepted
// connections are spread round-robin over the pool's contexts.
class Listener {
 public:
  // Binds every address of `runtime.config.bind`. IPv6 sockets are IPv6-only,
  // so "0.0.0.0:P" and "[::]:P" can both be listed; SO_REUSEPORT is never
  // set, so no other process can share the port. A port in use is an error
  // naming the address and, where /proc shows it, the pid and command line of
  // the process holding it.
  static Result<std::unique_ptr<Listener>> bind(const ListenerRuntime& runtime,
                                                util::IoPool& pool,
                                                std::vector<std::unique_ptr<Worker>>& workers);

  // Starts accepting on every bound address.
  void start();

  // Stops accepting; connections already accepted go on. Thread-safe.
  void close();

  // The addresses actually bound (with the OS-chosen port for port 0).
  const std::vector<boost::asio::ip::tcp::endpoint>& endpoints() const { return endpoints_; }
  const ListenerRuntime& runtime() const { return runtime_; }

 private:
  Listener(const ListenerRuntime& runtime, util::IoPool& pool,
           std::vector<std::unique_ptr<Worker>>& workers)
      : runtime_(runtime), pool_(pool), workers_(workers) {}

  const ListenerRuntime& runtime_;
  util::IoPool& pool_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
};

}  // namespace sanctum::proxy
