#include "support/stub_model.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace sanctum::test {

namespace {

using nlohmann::json;

void send_text(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    sent += static_cast<std::size_t>(n);
  }
}

// Reads one request (head and Content-Length body). Returns false on a
// closed or silent connection.
bool read_request(int fd, std::string& head, std::string& body) {
  std::string data;
  char buffer[4096];
  std::size_t head_end = std::string::npos;
  std::size_t length = 0;
  while (true) {
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        head = data.substr(0, head_end);
        std::string lower = head;
        for (char& c : lower) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        auto at = lower.find("content-length:");
        length = at == std::string::npos ? 0 : std::stoul(lower.substr(at + 15));
      }
    }
    if (head_end != std::string::npos && data.size() >= head_end + 4 + length) {
      body = data.substr(head_end + 4, length);
      return true;
    }
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      return false;
    }
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

std::string response(const std::string& content_type, const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
         "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         body;
}

std::string last_user_message(const json& request) {
  std::string text;
  for (const auto& message : request.value("messages", json::array())) {
    if (message.value("role", "") == "user") {
      text = message.value("content", "");
    }
  }
  return text;
}

}  // namespace

StubModelServer::StubModelServer(Options options) : options_(std::move(options)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("stub model server cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve_loop(); });
}

StubModelServer::~StubModelServer() {
  stopping_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void StubModelServer::serve_loop() {
  while (!stopping_) {
    pollfd descriptor{listen_fd_, POLLIN, 0};
    if (::poll(&descriptor, 1, 50) <= 0) {
      continue;
    }
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    serve(fd);
    ::close(fd);
  }
}

void StubModelServer::serve(int fd) {
  std::string head;
  std::string body;
  if (!read_request(fd, head, body)) {
    return;
  }
  ++served_;
  if (head.starts_with("GET /v1/models ")) {
    json models = {{"object", "list"},
                   {"data", json::array({{{"id", options_.model_id}, {"object", "model"}}})}};
    send_text(fd, response("application/json", models.dump()));
    return;
  }
  json request = json::parse(body, nullptr, false);
  std::string answer = options_.answer_prefix + last_user_message(request);
  if (request.is_object() && request.value("stream", false)) {
    json event = {{"object", "chat.completion.chunk"},
                  {"model", options_.model_id},
                  {"choices", json::array({{{"index", 0}, {"delta", {{"content", answer}}}}})}};
    std::string stream = "data: " + event.dump() + "\n\n";
    if (options_.send_done) {
      stream += "data: [DONE]\n\n";
    }
    send_text(fd, response("text/event-stream", stream));
    return;
  }
  json completion = {
      {"object", "chat.completion"},
      {"model", options_.model_id},
      {"choices", json::array({{{"index", 0},
                                {"message", {{"role", "assistant"}, {"content", answer}}},
                                {"finish_reason", "stop"}}})}};
  send_text(fd, response("application/json", completion.dump()));
}

}  // namespace sanctum::test
