#include "measure.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>

namespace sanctum::bench {

std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Samples::percentile(double p) {
  if (values_.empty()) {
    return 0;
  }
  if (!sorted_) {
    std::sort(values_.begin(), values_.end());
    sorted_ = true;
  }
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values_.size())));
  return values_[std::clamp<std::size_t>(rank, 1, values_.size()) - 1];
}

double Samples::mean() const {
  if (values_.empty()) {
    return 0;
  }
  return std::accumulate(values_.begin(), values_.end(), 0.0) / static_cast<double>(values_.size());
}

nlohmann::json Samples::summary() {
  return {{"n", values_.size()},        {"mean", mean()},
          {"p50", percentile(50)},      {"p90", percentile(90)},
          {"p99", percentile(99)},      {"max", percentile(100)}};
}

double ProcessCpu::total_us() const {
  static const double tick_us = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  double total = 0;
  for (int pid : pids_) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(file, text)) {
      throw std::runtime_error("cannot read /proc/" + std::to_string(pid) +
                               "/stat: is the process still running?");
    }
    // The command name in field 2 may contain spaces, so count fields from
    // the closing parenthesis: utime and stime are fields 14 and 15.
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    for (int index = 3; index <= 15 && rest >> field; ++index) {
      if (index == 14) {
        utime = std::stoull(field);
      } else if (index == 15) {
        stime = std::stoull(field);
      }
    }
    total += static_cast<double>(utime + stime) * tick_us;
  }
  return total;
}

std::int64_t rss_kib(const std::vector<int>& pids) {
  std::int64_t total = 0;
  for (int pid : pids) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/status");
    if (!file) {
      throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/status");
    }
    std::string line;
    bool found = false;
    while (std::getline(file, line)) {
      if (line.rfind("VmRSS:", 0) == 0) {
        total += std::stoll(line.substr(6));
        found = true;
        break;
      }
    }
    if (!found) {
      throw std::runtime_error("no VmRSS line in /proc/" + std::to_string(pid) + "/status");
    }
  }
  return total;
}

}  // namespace sanctum::bench
