#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace sanctum::test {

// A minimal OpenAI-compatible model server in plain HTTP on 127.0.0.1, for
// tests that need answers the echo model cannot give. It lists one model,
// `model_id`, and replies to every chat completion with `answer_prefix`
// followed by the last user message, as JSON or, when the request asks for
// stream: true, as SSE events. Connections are served one at a time and
// closed after each response.
class StubModelServer {
 public:
  struct Options {
    std::string model_id = "sanctum-echo";
    std::string answer_prefix = "stub: ";
    bool send_done = true;  // end streams with "data: [DONE]"
  };

  explicit StubModelServer(Options options);
  ~StubModelServer();
  StubModelServer(const StubModelServer&) = delete;
  StubModelServer& operator=(const StubModelServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests_served() const { return served_.load(); }

 private:
  void serve_loop();
  void serve(int fd);

  Options options_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> served_{0};
  std::thread thread_;
};

}  // namespace sanctum::test
