#include "probe/schedule.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "obs/log.hpp"

namespace sanctum::probe {

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `until` or a signal in `signals`, and takes a signal that is
// already pending even when `until` has passed. Returns the signal number,
// or 0 when the time came first.
int wait_for_signal(const sigset_t& signals, Clock::time_point until) {
  while (true) {
    auto left = std::max(until - Clock::now(), Clock::duration::zero());
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(left - seconds);
    timespec timeout{static_cast<time_t>(seconds.count()), static_cast<long>(nanos.count())};
    int signal = ::sigtimedwait(&signals, nullptr, &timeout);
    if (signal > 0) {
      return signal;
    }
    if (errno != EINTR) {
      return 0;
    }
  }
}

}  // namespace

int run_on_schedule(std::optional<std::chrono::milliseconds> every,
                    const std::function<int()>& run_once) {
  if (!every) {
    return run_once();
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);

  auto log = obs::logger("probe");
  auto next = Clock::now();
  while (true) {
    run_once();
    next += *every;
    auto now = Clock::now();
    if (next < now) {
      next = now;  // the run overran its interval: start the next one at once
    }
    if (int signal = wait_for_signal(stop_signals, next); signal != 0) {
      log->info("stopping on {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return 0;
}

}  // namespace sanctum::probe
