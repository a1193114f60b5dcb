#include "support/fake_upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace sanctum::test {

namespace {

bool send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string chunk(const std::string& data) {
  std::ostringstream out;
  out << std::hex << data.size() << "\r\n" << data << "\r\n";
  return out.str();
}

// A chunk framed in two ways that HTTP allows: a size with leading zeros
// and a chunk extension.
std::string unusual_chunk(const std::string& data) {
  std::ostringstream out;
  out << "00" << std::hex << data.size() << ";source=fake\r\n" << data << "\r\n";
  return out.str();
}

// The text of query parameter `name` up to the next '&', or "".
std::string query_text(const std::string& target, const std::string& name) {
  auto pos = target.find(name + "=");
  if (pos == std::string::npos) {
    return "";
  }
  auto start = pos + name.size() + 1;
  return target.substr(start, target.find('&', start) - start);
}

int query_int(const std::string& target, const std::string& name, int fallback) {
  auto pos = target.find(name + "=");
  if (pos == std::string::npos) {
    return fallback;
  }
  return std::atoi(target.c_str() + pos + name.size() + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string event_json(int index) {
  nlohmann::json event = {{"index", index}, {"emit_ns", unix_now_ns()}};
  return "data: " + event.dump() + "\n\n";
}

void pause_ms(int ms) {
  if (ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
}

}  // namespace

std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string pattern_bytes(std::size_t n) {
  // 65,521 is prime, so i mod 65521 times a unit mixes every byte value in.
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t k = i % 65521;
    out[i] = static_cast<char>((k * 7 + k / 256) & 0xff);
  }
  return out;
}

FakeUpstream::FakeUpstream() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("fake upstream cannot listen on 127.0.0.1");
  }
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeUpstream::~FakeUpstream() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  for (auto& worker : workers_) {
    worker.join();
  }
}

std::vector<FakeUpstream::Request> FakeUpstream::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::chrono::steady_clock::time_point FakeUpstream::hang_closed_at() {
  std::lock_guard lock(mutex_);
  return hang_closed_at_;
}

void FakeUpstream::accept_loop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) {
        return;
      }
      continue;
    }
    opened_++;
    std::lock_guard lock(mutex_);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void FakeUpstream::serve(int fd) {
  std::string buffer;
  char data[8192];
  auto fill = [&]() {
    ssize_t n = ::recv(fd, data, sizeof data, 0);
    if (n <= 0) {
      return false;
    }
    buffer.append(data, static_cast<size_t>(n));
    return true;
  };
  bool open = true;
  while (open) {
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        open = false;
        break;
      }
    }
    if (!open) {
      break;
    }
    Request request;
    std::istringstream head(buffer.substr(0, head_end));
    buffer.erase(0, head_end + 4);
    std::string line;
    std::getline(head, line);
    std::istringstream request_line(line);
    request_line >> request.method >> request.target >> request.version;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      auto colon = line.find(':');
      if (colon == std::string::npos) {
        continue;
      }
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      request.headers.emplace(lower(line.substr(0, colon)), value);
    }
    // Like Python's http.server, respond to Expect: 100-continue before the body.
    auto expect = request.headers.find("expect");
    if (expect != request.headers.end() && lower(expect->second) == "100-continue") {
      send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    auto length = request.headers.find("content-length");
    if (length != request.headers.end()) {
      size_t need = std::stoul(length->second);
      while (buffer.size() < need && fill()) {
      }
      request.body = buffer.substr(0, need);
      buffer.erase(0, std::min(need, buffer.size()));
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }

    const std::string& target = request.target;
    if (target.rfind("/sse", 0) == 0 && query_int(target, "burst", 0) == 1) {
      // The whole stream in one send, so that one read takes many chunks.
      auto frame = query_int(target, "unusual", 0) == 1 ? unusual_chunk : chunk;
      std::string all = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n" +
                        frame(": keepalive 1/1\n\n");
      for (int i = 0; i < query_int(target, "events", 3); ++i) {
        all += frame(event_json(i));
      }
      open = send_all(fd, all + chunk("data: [DONE]\n\n") + "0\r\n\r\n");
    } else if (target.rfind("/sse", 0) == 0) {
      int events = query_int(target, "events", 3);
      int gap = query_int(target, "gap_ms", 0);
      open = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n") &&
             send_all(fd, chunk(": keepalive 1/1\n\n"));
      for (int i = 0; open && i < events; ++i) {
        pause_ms(gap);
        open = send_all(fd, chunk(event_json(i)));
      }
      open = open && send_all(fd, chunk("data: [DONE]\n\n")) && send_all(fd, "0\r\n\r\n");
    } else if (target.rfind("/http10", 0) == 0) {
      int events = query_int(target, "events", 3);
      int gap = query_int(target, "gap_ms", 0);
      bool ok = send_all(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
      for (int i = 0; ok && i < events; ++i) {
        pause_ms(gap);
        ok = send_all(fd, event_json(i));
      }
      ok&& send_all(fd, "data: [DONE]\n\n");
      open = false;
    } else if (target.rfind("/inspect", 0) == 0) {
      nlohmann::json description;
      description["method"] = request.method;
      description["target"] = request.target;
      description["body_size"] = request.body.size();
      for (const auto& [name, value] : request.headers) {
        description["headers"][name] = value;
      }
      std::string body = description.dump();
      open = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body);
    } else if (target.rfind("/slow", 0) == 0) {
      pause_ms(query_int(target, "ms", 1000));
      open = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}");
    } else if (target.rfind("/cut", 0) == 0) {
      int events = query_int(target, "events", 2);
      bool ok = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n");
      for (int i = 0; ok && i < events; ++i) {
        ok = send_all(fd, chunk(event_json(i)));
      }
      // SO_LINGER with a zero timeout turns close() into a reset.
      linger hard{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
      open = false;
    } else if (target.rfind("/interim", 0) == 0) {
      open = send_all(fd, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                          "HTTP/1.1 100 Continue\r\n\r\n"
                          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: 15\r\n\r\n{\"final\":true}\n");
    } else if (target.rfind("/bytes", 0) == 0) {
      std::string body = pattern_bytes(static_cast<std::size_t>(query_int(target, "n", 0)));
      bool chunked = query_int(target, "chunked", 0) == 1;
      open = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" +
                              (chunked ? std::string("Transfer-Encoding: chunked\r\n\r\n")
                                       : "Content-Length: " + std::to_string(body.size()) +
                                             "\r\n\r\n"));
      // A response to HEAD has the head of the GET response and no body.
      bool head_only = request.method == "HEAD";
      constexpr std::size_t kPiece = 64 * 1024;
      for (std::size_t at = 0; open && !head_only && at < body.size(); at += kPiece) {
        std::string piece = body.substr(at, kPiece);
        open = send_all(fd, chunked ? chunk(piece) : piece);
      }
      if (open && chunked && !head_only) {
        open = send_all(fd, "0\r\n\r\n");
      }
    } else if (target.rfind("/status", 0) == 0) {
      int code = query_int(target, "code", 200);
      std::string reason = query_text(target, "reason");
      std::replace(reason.begin(), reason.end(), '_', ' ');
      bool bodiless = code == 204 || code == 304;
      open = send_all(fd, "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\n" +
                              (bodiless ? std::string("\r\n")
                                        : "Content-Length: 11\r\n\r\n{\"ok\":true}"));
    } else if (target.rfind("/trailing", 0) == 0) {
      // A complete response and, in the same send, bytes that belong to no
      // response, as a server that sends a body after a HEAD head does.
      open = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"
                          "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbad");
    } else if (target.rfind("/hop", 0) == 0) {
      open = send_all(fd, "HTTP/1.1 200 OK\r\nConnection: X-Upstream-Hop\r\n"
                          "X-Upstream-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
                          "Upgrade: example\r\nX-Kept: yes\r\n"
                          "Content-Length: 11\r\n\r\n{\"ok\":true}");
    } else if (target.rfind("/hang", 0) == 0) {
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n" +
                       chunk(event_json(0)));
      while (::recv(fd, data, sizeof data, 0) > 0) {
      }
      std::lock_guard lock(mutex_);
      hang_closed_at_ = std::chrono::steady_clock::now();
      open = false;
    } else {
      open = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: 11\r\n\r\n{\"ok\":true}");
    }
    auto connection = request.headers.find("connection");
    if (connection != request.headers.end() && lower(connection->second) == "close") {
      open = false;
    }
  }
  {
    std::lock_guard lock(mutex_);
    std::erase(open_fds_, fd);
  }
  ::close(fd);
  closed_++;
}

}  // namespace sanctum::test
