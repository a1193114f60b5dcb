#include "tls/stream.hpp"

#include <cerrno>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>

namespace sanctum::tls {

namespace net = boost::asio;
using boost::system::error_code;

ServerStream::ServerStream(socket_type socket, SSL_CTX* context) : socket_(std::move(socket)) {
  error_code ignored;
  socket_.non_blocking(true, ignored);
  ssl_ = SSL_new(context);
  if (ssl_ == nullptr) {
    return;
  }
  // SSL_set_fd's socket BIO does not own the descriptor: the socket closes it.
  if (SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle())) != 1) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  SSL_set_accept_state(ssl_);
  // Read ahead: one recv takes whatever the client has sent, instead of a
  // 5-byte record header and then the record. Partial and moving writes: a
  // write that blocks mid-record is finished by a later call with the same
  // bytes, which may come from another buffer.
  SSL_set_read_ahead(ssl_, 1);
  // SSL_MODE_RELEASE_BUFFERS stays off, so OpenSSL's record buffers are kept
  // while a request is in flight and a stream of events does not allocate
  // them for every record. release_buffers() frees them when the connection
  // goes idle.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

void ServerStream::release_buffers() {
  if (ssl_ != nullptr) {
    SSL_free_buffers(ssl_);
  }
}

ServerStream::~ServerStream() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
  }
}

unsigned char* ServerStream::gather_block() {
  thread_local unsigned char block[kRecordPayload];
  return block;
}

namespace {

// Empties the thread's error queue, which SSL_get_error reads, before a
// call that may fail. after_failure() empties it after every failure, so a
// look is usually enough and costs less than clearing every slot.
void clear_stale_errors() {
  if (ERR_peek_error() != 0) {
    ERR_clear_error();
  }
}

}  // namespace

ServerStream::Next ServerStream::after_failure(int result, error_code& ec) {
  int saved_errno = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      return Next::read;
    case SSL_ERROR_WANT_WRITE:
      return Next::write;
    case SSL_ERROR_ZERO_RETURN:
      ec = net::error::eof;
      break;
    case SSL_ERROR_SYSCALL:
      if (unsigned long code = ERR_get_error(); code != 0) {
        ec = error_code(static_cast<int>(code), net::error::get_ssl_category());
      } else if (saved_errno != 0) {
        ec = error_code(saved_errno, net::error::get_system_category());
      } else {
        ec = net::ssl::error::stream_truncated;
      }
      break;
    default: {
      unsigned long code = ERR_get_error();
      if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ec = net::ssl::error::stream_truncated;
      } else if (code != 0) {
        ec = error_code(static_cast<int>(code), net::error::get_ssl_category());
      } else {
        ec = net::error::fault;
      }
      break;
    }
  }
  ERR_clear_error();
  return Next::done;
}

// Every call checks that the socket is still open first: after a close, the
// descriptor number may already belong to another connection.
ServerStream::Next ServerStream::handshake(error_code& ec) {
  if (ssl_ == nullptr || !socket_.is_open()) {
    ec = net::error::bad_descriptor;
    return Next::done;
  }
  clear_stale_errors();
  errno = 0;
  int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    return Next::done;
  }
  return after_failure(result, ec);
}

ServerStream::Next ServerStream::read(net::mutable_buffer buffer, error_code& ec, std::size_t& n) {
  if (ssl_ == nullptr || !socket_.is_open()) {
    ec = net::error::bad_descriptor;
    return Next::done;
  }
  if (buffer.size() == 0) {
    return Next::done;
  }
  clear_stale_errors();
  errno = 0;
  if (SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n) == 1) {
    return Next::done;
  }
  n = 0;
  return after_failure(0, ec);
}

ServerStream::Next ServerStream::write(net::const_buffer buffer, error_code& ec, std::size_t& n) {
  if (ssl_ == nullptr || !socket_.is_open()) {
    ec = net::error::bad_descriptor;
    return Next::done;
  }
  if (buffer.size() == 0) {
    return Next::done;
  }
  clear_stale_errors();
  errno = 0;
  if (SSL_write_ex(ssl_, buffer.data(), buffer.size(), &n) == 1) {
    return Next::done;
  }
  n = 0;
  return after_failure(0, ec);
}

ServerStream::Next ServerStream::shutdown(error_code& ec) {
  if (ssl_ == nullptr || !socket_.is_open() || SSL_is_init_finished(ssl_) != 1) {
    return Next::done;
  }
  clear_stale_errors();
  errno = 0;
  int result = SSL_shutdown(ssl_);
  if (result >= 0) {
    // 0: close_notify sent, the client's not awaited; 1: both sent.
    return Next::done;
  }
  Next next = after_failure(result, ec);
  // Waiting for the client's close_notify is not this operation's job.
  return next == Next::read ? Next::done : next;
}

}  // namespace sanctum::tls
