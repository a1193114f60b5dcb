#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "proxy/runtime.hpp"

namespace sanctum::proxy {

// Watches the client socket of an exchange without reading from it, so that
// a client that goes away closes the upstream connection at once, even while
// the upstream is silent. It registers with the connection, and the worker's
// sweep arms it once the exchange has run for kWatchDelay: most exchanges end
// sooner and never pay for a socket wait.
class ClientWatch {
 public:
  // `upstream` is the slot holding the exchange's upstream socket, or null
  // while there is none.
  ClientWatch(Connection& connection, boost::asio::ip::tcp::socket& client,
              boost::asio::ip::tcp::socket** upstream);
  ~ClientWatch();
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  // Starts waiting for the client socket to turn readable.
  void arm();
  bool armed() const { return state_ != nullptr; }
  bool client_gone() const;
  Connection::Clock::time_point since() const { return since_; }

 private:
  struct State;
  Connection& connection_;
  boost::asio::ip::tcp::socket& client_;
  boost::asio::ip::tcp::socket** upstream_;
  Connection::Clock::time_point since_;
  std::shared_ptr<State> state_;
};

}  // namespace sanctum::proxy
