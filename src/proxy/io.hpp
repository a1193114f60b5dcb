#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <span>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

#include "tls/stream.hpp"

// HTTP reads and writes for the proxy's hot path. An operation is first run
// as Beast's synchronous function on the non-blocking stream, right where it
// is needed. Only when that stops with would_block does the caller
// co_await finish(), which waits for the socket and goes on. An exchange
// whose bytes are ready therefore runs straight through, without coroutine
// frames, handler allocations, type-erased executors or posted completions.
// A socket wait is the only suspension.
namespace sanctum::proxy::io {

namespace net = boost::asio;
namespace http = boost::beast::http;
using boost::beast::error_code;
using tcp = net::ip::tcp;

enum class Want { read, write };

// A socket that remembers when a read found it drained, so the next read
// waits for readiness instead of making a system call that finds nothing.
// A read that returns fewer bytes than requested has drained the socket.
class TrackedSocket {
 public:
  explicit TrackedSocket(tcp::socket& socket) : socket_(socket) {}

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, error_code& ec) {
    if (drained_) {
      ec = net::error::would_block;
      return 0;
    }
    std::size_t requested = net::buffer_size(buffers);
    std::size_t n = socket_.read_some(buffers, ec);
    drained_ = ec == net::error::would_block || (!ec && n < requested);
    return n;
  }
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    error_code ec;
    std::size_t n = read_some(buffers, ec);
    if (ec) {
      throw boost::system::system_error(ec);
    }
    return n;
  }

  tcp::socket& socket() { return socket_; }
  bool drained() const { return drained_; }
  // Called when the socket turned readable.
  void readable() { drained_ = false; }
  // Called when nothing can have arrived yet, such as right after a request
  // was sent.
  void expect_wait() { drained_ = true; }

 private:
  tcp::socket& socket_;
  bool drained_ = false;
};

inline tcp::socket& socket_of(tcp::socket& socket) { return socket; }
inline tcp::socket& socket_of(tls::ServerStream& stream) { return stream.socket(); }
inline tcp::socket& socket_of(TrackedSocket& tracked) { return tracked.socket(); }

inline Want readiness_for(tcp::socket&, Want operation) { return operation; }
inline Want readiness_for(TrackedSocket&, Want operation) { return operation; }
inline Want readiness_for(tls::ServerStream& stream, Want) {
  return stream.wants_write() ? Want::write : Want::read;
}

inline void became_ready(tcp::socket&) {}
inline void became_ready(tls::ServerStream&) {}
inline void became_ready(TrackedSocket& tracked) { tracked.readable(); }

inline bool blocked(const error_code& ec) { return ec == net::error::would_block; }

// Frees a connection's read buffers before the wait between requests.
// Returns false when decrypted bytes of the next request are already there.
// The caller then calls async_wait itself, because each coroutine frame
// alive during the wait costs every idle connection memory.
inline bool prepare_idle_wait(tcp::socket&) { return true; }
inline bool prepare_idle_wait(tls::ServerStream& stream) {
  if (stream.has_pending()) {
    return false;
  }
  stream.release_buffers();
  return true;
}

// Finishes an operation whose synchronous attempt ended with would_block:
// waits for the socket, then runs `attempt(ec)` again, until it ends with
// anything else. `want` is the readiness the operation itself needs.
template <class Stream, class Attempt>
net::awaitable<error_code> finish(Stream& stream, Want want, Attempt attempt) {
  for (;;) {
    auto [wait_error] = co_await socket_of(stream).async_wait(
        readiness_for(stream, want) == Want::read ? tcp::socket::wait_read : tcp::socket::wait_write,
        net::as_tuple(net::use_awaitable));
    if (wait_error) {
      co_return wait_error;
    }
    became_ready(stream);
    error_code ec;
    attempt(ec);
    if (!blocked(ec)) {
      co_return ec;
    }
  }
}

// Attempts, as callables for finish().
template <class Stream, class Buffer, class Parser>
auto reading_header(Stream& stream, Buffer& buffer, Parser& parser) {
  return [&stream, &buffer, &parser](error_code& ec) {
    http::read_header(stream, buffer, parser, ec);
  };
}
template <class Stream, class Buffer, class Parser>
auto reading(Stream& stream, Buffer& buffer, Parser& parser) {
  return [&stream, &buffer, &parser](error_code& ec) { http::read(stream, buffer, parser, ec); };
}
// The bytes one write still has to send: up to eight buffers, such as a
// response head, a chunk size line, four pieces of the chunk, its CRLF and
// the last chunk. The stream gathers them into one send, or into one TLS
// record when they fit one.
class Outgoing {
 public:
  void add(net::const_buffer buffer) {
    if (buffer.size() > 0) {
      assert(count_ < buffers_.size());
      buffers_[count_++] = buffer;
    }
  }
  void clear() { first_ = count_ = 0; }
  bool empty() const { return first_ == count_; }
  std::span<const net::const_buffer> buffers() const {
    return {buffers_.data() + first_, count_ - first_};
  }
  // Drops the first `n` bytes, which the stream has taken.
  void consume(std::size_t n) {
    while (n > 0 && first_ < count_) {
      std::size_t part = std::min(n, buffers_[first_].size());
      buffers_[first_] += part;
      n -= part;
      if (buffers_[first_].size() == 0) {
        ++first_;
      }
    }
  }

 private:
  std::array<net::const_buffer, 8> buffers_;
  std::size_t first_ = 0;
  std::size_t count_ = 0;
};

// Returns an attempt, for finish(), that sends everything in `outgoing`.
template <class Stream>
auto sending(Stream& stream, Outgoing& outgoing) {
  return [&stream, &outgoing](error_code& ec) {
    while (!outgoing.empty()) {
      std::size_t n = stream.write_some(outgoing.buffers(), ec);
      outgoing.consume(n);
      if (ec) {
        return;
      }
    }
  };
}

template <class Stream, class Serializer>
auto writing(Stream& stream, Serializer& serializer) {
  return [&stream, &serializer](error_code& ec) { http::write(stream, serializer, ec); };
}

// Runs `attempt` now and returns its error, would_block included.
template <class Attempt>
error_code now(Attempt& attempt) {
  error_code ec;
  attempt(ec);
  return ec;
}

// Attempts and finishes in one call, for paths where a coroutine frame does
// not matter.
template <class Stream, class Attempt>
net::awaitable<error_code> run(Stream& stream, Want want, Attempt attempt) {
  error_code ec = now(attempt);
  if (blocked(ec)) {
    ec = co_await io::finish(stream, want, attempt);
  }
  co_return ec;
}

// Writes a whole message.
template <class Stream, bool isRequest, class Body, class Fields>
net::awaitable<error_code> write_message(Stream& stream,
                                         http::message<isRequest, Body, Fields>& message) {
  http::serializer<isRequest, Body, Fields> serializer{message};
  co_return co_await io::run(stream, Want::write, writing(stream, serializer));
}

}  // namespace sanctum::proxy::io
