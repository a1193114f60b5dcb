#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sanctum::test {

// A model server stand-in on 127.0.0.1 with the awkward behaviours real ones
// have, chosen by request path:
//   /sse?events=N&gap_ms=M    chunked SSE: a ": keepalive" comment, N data
//                             events carrying their emit time, then [DONE].
//                             burst=1 sends all of it at once, and
//                             unusual=1 with it writes the chunk sizes with
//                             leading zeros and an extension
//   /http10?events=N&gap_ms=M HTTP/1.0 stream without length, ended by close
//   /inspect                  200 with JSON describing the request it got
//   /slow?ms=M                waits M ms before the response head
//   /cut?events=N             N events, then a TCP reset: no [DONE]
//   /hang                     one event, then waits for the caller to close
//   /interim                  a 103 and a 100 response, then a 200 one
//   /bytes?n=N&chunked=C      N bytes of pattern_bytes(), with Content-Length,
//                             or chunked in 64 KiB chunks when C is 1; HEAD
//                             gets the head alone
//   /status?code=N&reason=R   status N with reason R (underscores become
//                             spaces); no body for 204 and 304, otherwise
//                             {"ok":true}
//   /trailing                 200 {"ok":true}, then in the same send a
//                             second response that no request asked for
//   /hop                      200 with hop-by-hop fields: Connection
//                             naming X-Upstream-Hop, X-Upstream-Hop,
//                             Keep-Alive and Upgrade; and X-Kept: yes
//   anything else             200 {"ok":true}
// A request with Expect: 100-continue gets a 100 before its body is read.
// Every request's head and body are recorded. Blocking sockets, one thread
// per connection: simple and independent of the gateway's own I/O code.
class FakeUpstream {
 public:
  FakeUpstream();
  ~FakeUpstream();

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  struct Request {
    std::string method;
    std::string target;
    std::string version;
    std::multimap<std::string, std::string> headers;  // names lowercased
    std::string body;
  };
  std::vector<Request> requests();
  int connections_opened() const { return opened_.load(); }
  int connections_closed() const { return closed_.load(); }
  // Time when a /hang connection saw the caller close; epoch when none did.
  std::chrono::steady_clock::time_point hang_closed_at();

 private:
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> opened_{0};
  std::atomic<int> closed_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::vector<Request> requests_;
  std::chrono::steady_clock::time_point hang_closed_at_{};
};

// Unix time in nanoseconds, as written into /sse events.
std::int64_t unix_now_ns();

// The first `n` bytes of the /bytes pattern: every byte value, in an order
// that repeats only every 65,521 bytes, so a lost, doubled or moved block
// changes the result.
std::string pattern_bytes(std::size_t n);

}  // namespace sanctum::test
