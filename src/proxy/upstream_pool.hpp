#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>

namespace sanctum::proxy {

// Idle keep-alive connections to upstreams, keyed by "host:port". One pool
// per worker thread, so no locking.
class UpstreamPool {
 public:
  // Takes an idle connection that the upstream has not closed meanwhile, or
  // returns nothing.
  std::optional<boost::asio::ip::tcp::socket> take(const std::string& key);

  // Keeps `socket` for reuse, unless `max_idle` connections to `key` are
  // already kept, in which case the oldest is closed.
  void put(const std::string& key, boost::asio::ip::tcp::socket socket, std::size_t max_idle);

  // Closes every idle connection.
  void clear();

  std::size_t idle_count() const;

 private:
  struct Idle {
    boost::asio::ip::tcp::socket socket;
    std::chrono::steady_clock::time_point since;
  };
  std::unordered_map<std::string, std::deque<Idle>> idle_;
};

}  // namespace sanctum::proxy
