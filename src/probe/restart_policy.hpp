#pragma once

// When the guardian restarts the model server. A server that is busy with a
// long prompt can miss a health check or two, so one failure never restarts
// it: the guardian needs several failures in a row, ignores failures while
// the server starts, spaces restarts out, and caps how many it makes.

#include <chrono>
#include <deque>

namespace sanctum::probe {

using Duration = std::chrono::milliseconds;

struct RestartPolicy {
  int failures = 3;  // consecutive failed probes that trigger a restart
  // After the guardian starts and after each restart, failed probes are
  // logged but not counted, so a server loading its model is left alone.
  Duration grace{60'000};
  int max_restarts = 3;       // restarts allowed in any `window`
  Duration window{3'600'000};  // sliding window for max_restarts
  // Minimum time between two restarts without a successful probe between
  // them. It doubles after each such restart, up to `max_backoff`, and
  // resets on the next successful probe.
  Duration backoff{30'000};
  Duration max_backoff{1'800'000};
};

enum class GuardianAction {
  none,          // probe passed, or failures below the threshold
  grace,         // probe failed inside the grace period: not counted
  backoff,       // threshold reached, but the last restart was too recent
  budget_spent,  // threshold reached, but max_restarts ran in the window
  restart,       // run the restart command now
};

// "none", "grace", "backoff", "budget-spent", "restart".
const char* to_string(GuardianAction action);

// The guardian's memory across ticks. Pure: the caller passes the time, so
// tests need no clock. Not thread-safe.
class RestartState {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  RestartState(RestartPolicy policy, TimePoint started);

  // Records one probe result at `now` and returns what to do.
  GuardianAction on_probe(bool ok, TimePoint now);
  // Records that the restart command ran at `now`.
  void on_restart(TimePoint now);

  int consecutive_failures() const { return failures_; }
  // Restarts within the window that ends at `now`.
  int restarts_in_window(TimePoint now);
  // Time that must pass after the last restart before the next one.
  Duration current_backoff() const;

 private:
  void forget_old_restarts(TimePoint now);

  RestartPolicy policy_;
  TimePoint grace_end_;
  int failures_ = 0;
  int restarts_since_success_ = 0;
  std::deque<TimePoint> restarts_;
};

}  // namespace sanctum::probe
