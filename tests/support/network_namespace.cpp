#include "support/network_namespace.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>

#include "support/process.hpp"

namespace sanctum::test {

using namespace std::chrono_literals;

namespace {

std::string unique_name() {
  static std::atomic<int> counter{0};
  return "sanctum-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

PrivateNamespace::PrivateNamespace() : name_(unique_name()) {
  ok_ = run_command({"ip", "netns", "add", name_}, 10s).exit_code == 0 &&
        run_command({"ip", "-n", name_, "link", "set", "lo", "up"}, 10s).exit_code == 0 &&
        run_command({"ip", "-n", name_, "addr", "add", std::string(kOuterAddress) + "/32", "dev",
                     "lo"},
                    10s)
                .exit_code == 0;
}

PrivateNamespace::~PrivateNamespace() { run_command({"ip", "netns", "del", name_}, 10s); }

std::vector<std::string> PrivateNamespace::wrap(const std::vector<std::string>& argv) const {
  std::vector<std::string> wrapped{"ip", "netns", "exec", name_};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

}  // namespace sanctum::test
