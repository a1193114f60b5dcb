#pragma once

#include <cstddef>
#include <utility>

#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <openssl/ssl.h>

namespace sanctum::tls {

// The server side of a TLS connection in which OpenSSL reads and writes the
// socket itself. boost::asio::ssl::stream puts a BIO pair and two fixed 17 KiB
// vectors between OpenSSL and the socket, so every byte is copied twice and an
// idle connection keeps about 68 KiB. Here OpenSSL's record buffers are the
// only ones, and they are freed whenever the connection waits for its next
// request, so an idle connection keeps the SSL object and its session alone.
//
// The socket is non-blocking. Reads and writes are synchronous and fail with
// would_block when OpenSSL needs the socket to become readable or writable.
// Beast's synchronous HTTP functions therefore run on this stream, and the
// caller waits for the socket (see proxy/io.hpp) only when it must. The handshake
// and the shutdown are asynchronous operations that do the waiting
// themselves.
//
// Like every Asio I/O object it is not thread-safe. No operation has a
// timeout; closing or cancelling the socket ends a wait with an error.
class ServerStream {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;

  // Takes `socket` and creates the SSL object from `context`. When OpenSSL
  // cannot create it, native_handle() is null and every operation fails.
  ServerStream(socket_type socket, SSL_CTX* context);
  ~ServerStream();
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  socket_type& socket() { return socket_; }
  SSL* native_handle() { return ssl_; }

  // Runs the server handshake. Completes with (error_code).
  template <class Token>
  auto async_handshake(Token&& token) {
    return run<void(boost::system::error_code)>(HandshakeStep{}, std::forward<Token>(token));
  }

  // Reads decrypted bytes into the first non-empty buffer, without
  // waiting. When OpenSSL needs the socket first, fails with would_block,
  // and wants_write() gives the readiness to wait for. A close_notify from
  // the client gives boost::asio::error::eof, a close without one
  // ssl::error::stream_truncated.
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
    std::size_t n = 0;
    ec = {};
    settle(read(first_non_empty(buffers), ec, n), ec);
    return n;
  }
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    boost::system::error_code ec;
    std::size_t n = read_some(buffers, ec);
    if (ec) {
      throw boost::system::system_error(ec);
    }
    return n;
  }

  // Writes the start of `buffers` as TLS records, without waiting; fails
  // like read_some. Several buffers that together fit one record are
  // gathered into it, so a response head and a small body leave in one send.
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, boost::system::error_code& ec) {
    std::size_t n = 0;
    ec = {};
    settle(write(gather(buffers), ec, n), ec);
    return n;
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers) {
    boost::system::error_code ec;
    std::size_t n = write_some(buffers, ec);
    if (ec) {
      throw boost::system::system_error(ec);
    }
    return n;
  }

  // After would_block: true when OpenSSL waits for the socket to accept
  // bytes, false when it waits for bytes to arrive.
  bool wants_write() const { return wants_write_; }

  // Frees OpenSSL's read and write buffers unless they hold bytes; they are
  // allocated again by the next read or write.
  void release_buffers();

  // True when OpenSSL has received bytes not yet returned by read_some.
  bool has_pending() const { return ssl_ != nullptr && SSL_has_pending(ssl_) == 1; }

  // Sends close_notify; does not wait for the client's. Completes with
  // (error_code).
  template <class Token>
  auto async_shutdown(Token&& token) {
    return run<void(boost::system::error_code)>(ShutdownStep{}, std::forward<Token>(token));
  }

 private:
  // The socket state an OpenSSL call waits for, or done.
  enum class Next { done, read, write };

  struct HandshakeStep {
    Next operator()(ServerStream& s, boost::system::error_code& ec, std::size_t&) const {
      return s.handshake(ec);
    }
  };
  struct ShutdownStep {
    Next operator()(ServerStream& s, boost::system::error_code& ec, std::size_t&) const {
      return s.shutdown(ec);
    }
  };

  // One composed operation: call `step` until it is done, waiting on the
  // socket in between. A result ready at once is posted, never delivered
  // inside the initiating call.
  template <class Step>
  struct Op {
    ServerStream& stream;
    Step step;
    bool started = false;
    bool finished = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
      if (finished || ec) {
        complete(self, ec, n);
        return;
      }
      bool initiating = !started;
      started = true;
      switch (step(stream, ec, n)) {
        case Next::read:
          stream.socket_.async_wait(socket_type::wait_read, std::move(self));
          return;
        case Next::write:
          stream.socket_.async_wait(socket_type::wait_write, std::move(self));
          return;
        case Next::done:
          break;
      }
      if (initiating) {
        finished = true;
        boost::asio::post(stream.socket_.get_executor(),
                          boost::asio::append(std::move(self), ec, n));
        return;
      }
      complete(self, ec, n);
    }

    template <class Self>
    static void complete(Self& self, boost::system::error_code ec, std::size_t n) {
      if constexpr (requires { self.complete(ec, n); }) {
        self.complete(ec, n);
      } else {
        self.complete(ec);
      }
    }
  };

  template <class Signature, class Step, class Token>
  auto run(Step step, Token&& token) {
    return boost::asio::async_compose<Token, Signature>(Op<Step>{*this, std::move(step)}, token,
                                                        socket_);
  }

  template <class Buffers>
  static boost::asio::mutable_buffer first_non_empty(const Buffers& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer b(*it);
      if (b.size() > 0) {
        return b;
      }
    }
    return {};
  }

  // The bytes one write sends. Several buffers that together fit one TLS
  // record are copied into a per-thread block, so they become one record.
  // Otherwise it is the first non-empty buffer.
  template <class Buffers>
  static boost::asio::const_buffer gather(const Buffers& buffers) {
    boost::asio::const_buffer first;
    std::size_t total = 0;
    std::size_t count = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer b(*it);
      if (b.size() == 0) {
        continue;
      }
      if (count++ == 0) {
        first = b;
      }
      total += b.size();
    }
    if (count < 2 || total > kRecordPayload) {
      return first;
    }
    unsigned char* block = gather_block();
    std::size_t used = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer b(*it);
      used += boost::asio::buffer_copy(boost::asio::buffer(block + used, kRecordPayload - used), b);
    }
    return {block, used};
  }

  // Turns a pending socket wait into would_block.
  void settle(Next next, boost::system::error_code& ec) {
    if (next != Next::done) {
      wants_write_ = next == Next::write;
      ec = boost::asio::error::would_block;
    }
  }

  static constexpr std::size_t kRecordPayload = 16 * 1024;
  static unsigned char* gather_block();

  Next handshake(boost::system::error_code& ec);
  Next read(boost::asio::mutable_buffer buffer, boost::system::error_code& ec, std::size_t& n);
  Next write(boost::asio::const_buffer buffer, boost::system::error_code& ec, std::size_t& n);
  Next shutdown(boost::system::error_code& ec);
  // Maps the result of an OpenSSL call that returned `result` <= 0.
  Next after_failure(int result, boost::system::error_code& ec);

  socket_type socket_;
  SSL* ssl_ = nullptr;
  bool wants_write_ = false;
};

}  // namespace sanctum::tls
