#include "probe/restart_policy.hpp"

#include <algorithm>

namespace sanctum::probe {

const char* to_string(GuardianAction action) {
  switch (action) {
    case GuardianAction::none:
      return "none";
    case GuardianAction::grace:
      return "grace";
    case GuardianAction::backoff:
      return "backoff";
    case GuardianAction::budget_spent:
      return "budget-spent";
    case GuardianAction::restart:
      return "restart";
  }
  return "none";
}

RestartState::RestartState(RestartPolicy policy, TimePoint started)
    : policy_(policy), grace_end_(started + policy.grace) {}

void RestartState::forget_old_restarts(TimePoint now) {
  while (!restarts_.empty() && now - restarts_.front() >= policy_.window) {
    restarts_.pop_front();
  }
}

int RestartState::restarts_in_window(TimePoint now) {
  forget_old_restarts(now);
  return static_cast<int>(restarts_.size());
}

Duration RestartState::current_backoff() const {
  if (restarts_since_success_ == 0) {
    return Duration::zero();
  }
  Duration backoff = policy_.backoff;
  for (int i = 1; i < restarts_since_success_ && backoff < policy_.max_backoff; ++i) {
    backoff *= 2;
  }
  return std::min(backoff, policy_.max_backoff);
}

GuardianAction RestartState::on_probe(bool ok, TimePoint now) {
  if (ok) {
    failures_ = 0;
    restarts_since_success_ = 0;
    return GuardianAction::none;
  }
  if (now < grace_end_) {
    return GuardianAction::grace;
  }
  ++failures_;
  if (failures_ < policy_.failures) {
    return GuardianAction::none;
  }
  if (restarts_in_window(now) >= policy_.max_restarts) {
    return GuardianAction::budget_spent;
  }
  if (!restarts_.empty() && now - restarts_.back() < current_backoff()) {
    return GuardianAction::backoff;
  }
  return GuardianAction::restart;
}

void RestartState::on_restart(TimePoint now) {
  restarts_.push_back(now);
  failures_ = 0;
  ++restarts_since_success_;
  grace_end_ = now + policy_.grace;
}

}  // namespace sanctum::probe
