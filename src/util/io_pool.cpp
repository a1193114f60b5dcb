#include "util/io_pool.hpp"

namespace sanctum::util {

IoPool::IoPool(std::size_t threads) {
  if (threads == 0) {
    threads = 1;
  }
  for (std::size_t i = 0; i < threads; ++i) {
    // The concurrency hint 1 declares that one thread runs each context, so
    // asio can skip locking inside the scheduler.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

IoPool::~IoPool() { stop(); }

std::size_t IoPool::index_of(const boost::asio::io_context& context) const {
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    if (contexts_[i].get() == &context) {
      return i;
    }
  }
  return 0;
}

boost::asio::io_context& IoPool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoPool::start() {
  for (auto& context : contexts_) {
    threads_.emplace_back([ctx = context.get()] { ctx->run(); });
  }
}

void IoPool::finish() {
  for (auto& guard : guards_) {
    guard.reset();
  }
  for (auto& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
  threads_.clear();
}

void IoPool::stop() {
  for (auto& context : contexts_) {
    context->stop();
  }
  for (auto& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
  threads_.clear();
}

}  // namespace sanctum::util
