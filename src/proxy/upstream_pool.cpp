#include "proxy/upstream_pool.hpp"

#include <poll.h>

namespace sanctum::proxy {

namespace {

// An idle upstream connection must have nothing to read. Readable means the
// upstream closed it (EOF) or sent bytes that no request expects.
bool still_usable(boost::asio::ip::tcp::socket& socket) {
  if (!socket.is_open()) {
    return false;
  }
  pollfd descriptor{};
  descriptor.fd = socket.native_handle();
  descriptor.events = POLLIN | POLLRDHUP;
  int ready = ::poll(&descriptor, 1, 0);
  return ready == 0;
}

// Connections idle for longer than this are dropped rather than reused:
// model servers close idle keep-alive connections after a few seconds
// (uvicorn's default is 5 s), and a request sent on a connection the server
// is closing fails.
constexpr std::chrono::seconds kMaxIdleAge{4};
// Connections idle for at least this long are checked with poll() first.
constexpr std::chrono::milliseconds kCheckedAfter{500};

}  // namespace

std::optional<boost::asio::ip::tcp::socket> UpstreamPool::take(const std::string& key) {
  auto found = idle_.find(key);
  if (found == idle_.end()) {
    return std::nullopt;
  }
  auto& list = found->second;
  auto now = std::chrono::steady_clock::now();
  while (!list.empty()) {
    Idle entry = std::move(list.back());
    list.pop_back();
    // A connection that was in use a moment ago is not checked: that would
    // cost a system call per request, and a request on a connection the
    // upstream has just closed is retried once on a new one.
    auto age = now - entry.since;
    if (age < kMaxIdleAge && (age < kCheckedAfter || still_usable(entry.socket))) {
      return std::move(entry.socket);
    }
    boost::system::error_code ignored;
    entry.socket.close(ignored);
  }
  return std::nullopt;
}

void UpstreamPool::put(const std::string& key, boost::asio::ip::tcp::socket socket,
                       std::size_t max_idle) {
  if (max_idle == 0) {
    return;
  }
  auto& list = idle_[key];
  while (list.size() >= max_idle) {
    boost::system::error_code ignored;
    list.front().socket.close(ignored);
    list.pop_front();
  }
  list.push_back(Idle{std::move(socket), std::chrono::steady_clock::now()});
}

void UpstreamPool::clear() {
  for (auto& [key, list] : idle_) {
    for (auto& entry : list) {
      boost::system::error_code ignored;
      entry.socket.close(ignored);
    }
  }
  idle_.clear();
}

std::size_t UpstreamPool::idle_count() const {
  std::size_t n = 0;
  for (auto const& [key, list] : idle_) {
    n += list.size();
  }
  return n;
}

}  // namespace sanctum::proxy
