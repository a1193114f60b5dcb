#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace sanctum::util {

// N io_contexts, each run by one thread. A connection lives on one context
// for its whole life, so its handlers never run concurrently and need no
// strand, and each context can keep per-thread state (such as an upstream
// connection pool) without locks.
class IoPool {
 public:
  explicit IoPool(std::size_t threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  std::size_t size() const { return contexts_.size(); }
  boost::asio::io_context& context(std::size_t index) { return *contexts_[index]; }
  std::size_t index_of(const boost::asio::io_context& context) const;

  // Picks the context for the next connection, round-robin.
  boost::asio::io_context& next();

  // Starts one thread per context, then returns.
  void start();
  // Lets the contexts finish their outstanding work and joins the threads.
  void finish();
  // Stops every context at once and joins the threads.
  void stop();

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace sanctum::util
