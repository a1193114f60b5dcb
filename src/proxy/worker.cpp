#include <poll.h>

#include <atomic>

#include "proxy/client_watch.hpp"
#include "proxy/runtime.hpp"

namespace sanctum::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

std::uint64_t next_connection_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void Worker::start_drain() {
  draining = true;
  upstream_pool.clear();
  for (Connection* connection : connections) {
    if (connection->idle && connection->close_socket) {
      connection->close_socket();
    }
  }
}

void Worker::add(Connection& connection) {
  connections.insert(&connection);
  if (!sweeping && sweep_timer) {
    sweeping = true;
    sweep_timer->expires_after(kSweepInterval);
    sweep_timer->async_wait([this](error_code ec) {
      if (!ec) {
        sweep();
      }
    });
  }
}

void Worker::remove(Connection& connection) { connections.erase(&connection); }

void Worker::release_io() {
  upstream_pool.clear();
  sweep_timer.reset();
}

void Worker::sweep() {
  auto now = Connection::Clock::now();
  for (Connection* connection : connections) {
    if (connection->deadline <= now && connection->deadline_socket != nullptr) {
      connection->deadline_expired = true;
      error_code ignored;
      connection->deadline_socket->cancel(ignored);
      connection->disarm_deadline();
    }
    ClientWatch* watch = connection->watch;
    if (watch != nullptr && !watch->armed() && now - watch->since() >= kWatchDelay) {
      watch->arm();
    }
  }
  if (connections.empty() || !sweep_timer) {
    sweeping = false;
    return;
  }
  sweep_timer->expires_after(kSweepInterval);
  sweep_timer->async_wait([this](error_code ec) {
    if (!ec) {
      sweep();
    }
  });
}

struct ClientWatch::State {
  explicit State(tcp::socket& socket, tcp::socket** upstream_slot)
      : client(&socket), upstream(upstream_slot), timer(socket.get_executor()) {}

  tcp::socket* client;
  tcp::socket** upstream;
  net::steady_timer timer;
  bool active = true;
  bool disconnected = false;

  static void wait(const std::shared_ptr<State>& self) {
    self->client->async_wait(tcp::socket::wait_read,
                             [self](error_code ec) { on_ready(self, ec); });
  }

  static void on_ready(const std::shared_ptr<State>& self, error_code ec) {
    if (!self->active || ec == net::error::operation_aborted) {
      return;
    }
    pollfd descriptor{self->client->native_handle(), POLLIN | POLLRDHUP, 0};
    if (::poll(&descriptor, 1, 0) < 0) {
      return;
    }
    if (ec || (descriptor.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
      self->disconnected = true;
      if (*self->upstream != nullptr) {
        error_code ignored;
        (*self->upstream)->close(ignored);
      }
      return;
    }
    // Bytes but no end of stream: a TLS close_notify whose FIN is still on
    // the way, or a pipelined request. Check again shortly without reading.
    self->timer.expires_after(std::chrono::milliseconds(100));
    self->timer.async_wait([self](error_code tec) {
      if (!tec) {
        on_ready(self, {});
      }
    });
  }
};

ClientWatch::ClientWatch(Connection& connection, tcp::socket& client, tcp::socket** upstream)
    : connection_(connection), client_(client), upstream_(upstream),
      since_(Connection::Clock::now()) {
  connection_.watch = this;
}

ClientWatch::~ClientWatch() {
  connection_.watch = nullptr;
  if (state_) {
    state_->active = false;
    state_->timer.cancel();
    error_code ignored;
    client_.cancel(ignored);
  }
}

void ClientWatch::arm() {
  if (state_ || !client_.is_open()) {
    return;
  }
  state_ = std::make_shared<State>(client_, upstream_);
  State::wait(state_);
}

bool ClientWatch::client_gone() const { return state_ != nullptr && state_->disconnected; }

}  // namespace sanctum::proxy
