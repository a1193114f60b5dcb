#pragma once

#include <cstdint>
#include <memory>

#include "config/config.hpp"
#include "util/io_pool.hpp"
#include "util/result.hpp"

namespace sanctum::upstream {

struct EchoOptions {
  config::Duration chunk_delay{0};  // pause between two streamed events
  // Respond like mlx_lm.server: streamed responses in HTTP/1.0 without length
  // or chunking, ended by closing the connection, and 411 for a request body
  // without Content-Length.
  bool mlx_style = false;
};

// The built-in echo model as a plain-HTTP OpenAI-compatible server. The
// gateway starts one on an ephemeral loopback port for listeners whose
// upstream is "echo", so echo traffic takes the same proxy path as a real
// model server.
class EchoServer {
 public:
  // Binds `address` (port 0 picks a free port) and starts accepting on the
  // pool's contexts. The error names the address and the OS reason.
  static Result<std::unique_ptr<EchoServer>> start(util::IoPool& pool,
                                                   const config::BindAddress& address,
                                                   EchoOptions options);
  ~EchoServer();

  std::uint16_t port() const { return port_; }

  // Stops accepting new connections; open ones finish their exchange.
  void close();

  struct State;

 private:
  explicit EchoServer(std::shared_ptr<State> state, std::uint16_t port)
      : state_(std::move(state)), port_(port) {}

  std::shared_ptr<State> state_;
  std::uint16_t port_;
};

}  // namespace sanctum::upstream
