#include <gtest/gtest.h>

#include "probe/restart_policy.hpp"

namespace sanctum::probe {
namespace {

using namespace std::chrono_literals;
using TimePoint = RestartState::TimePoint;

RestartPolicy test_policy() {
  RestartPolicy policy;
  policy.failures = 3;
  policy.grace = 60s;
  policy.max_restarts = 2;
  policy.window = 1h;
  policy.backoff = 30s;
  policy.max_backoff = 90s;
  return policy;
}

TEST(RestartState, IgnoresFailuresInGrace) {
  TimePoint start{};
  RestartState state(test_policy(), start);
  EXPECT_EQ(state.on_probe(false, start + 10s), GuardianAction::grace);
  EXPECT_EQ(state.on_probe(false, start + 20s), GuardianAction::grace);
  EXPECT_EQ(state.on_probe(false, start + 30s), GuardianAction::grace);
  EXPECT_EQ(state.consecutive_failures(), 0);
}

TEST(RestartState, RestartsAfterConsecutiveFailures) {
  TimePoint start{};
  RestartState state(test_policy(), start);
  EXPECT_EQ(state.on_probe(false, start + 61s), GuardianAction::none);
  EXPECT_EQ(state.on_probe(false, start + 62s), GuardianAction::none);
  EXPECT_EQ(state.on_probe(false, start + 63s), GuardianAction::restart);
  EXPECT_EQ(state.consecutive_failures(), 3);
}

TEST(RestartState, SuccessResetsCount) {
  TimePoint start{};
  RestartState state(test_policy(), start);
  state.on_probe(false, start + 61s);
  state.on_probe(false, start + 62s);
  EXPECT_EQ(state.on_probe(true, start + 63s), GuardianAction::none);
  EXPECT_EQ(state.on_probe(false, start + 64s), GuardianAction::none);
  EXPECT_EQ(state.consecutive_failures(), 1);
}

TEST(RestartState, BacksOffAndSpendsBudget) {
  TimePoint start{};
  RestartPolicy policy = test_policy();
  policy.grace = 0s;
  policy.failures = 1;
  policy.max_restarts = 3;
  RestartState state(policy, start);
  EXPECT_EQ(state.on_probe(false, start + 1s), GuardianAction::restart);
  state.on_restart(start + 1s);
  EXPECT_EQ(state.current_backoff(), 30s);
  EXPECT_EQ(state.on_probe(false, start + 20s), GuardianAction::backoff);
  EXPECT_EQ(state.on_probe(false, start + 31s), GuardianAction::restart);
  state.on_restart(start + 31s);
  EXPECT_EQ(state.current_backoff(), 60s);
  EXPECT_EQ(state.on_probe(false, start + 80s), GuardianAction::backoff);
  EXPECT_EQ(state.on_probe(false, start + 91s), GuardianAction::restart);
  state.on_restart(start + 91s);
  EXPECT_EQ(state.current_backoff(), 90s);  // capped at max_backoff
  EXPECT_EQ(state.on_probe(false, start + 10min), GuardianAction::budget_spent);
  EXPECT_EQ(state.restarts_in_window(start + 10min), 3);
  // The first restart leaves the one-hour window.
  EXPECT_EQ(state.on_probe(false, start + 1h + 2s), GuardianAction::restart);
}

TEST(RestartState, SuccessResetsBackoff) {
  TimePoint start{};
  RestartPolicy policy = test_policy();
  policy.grace = 0s;
  policy.failures = 1;
  RestartState state(policy, start);
  state.on_restart(start);
  state.on_restart(start + 1s);
  EXPECT_EQ(state.current_backoff(), 60s);
  state.on_probe(true, start + 2s);
  EXPECT_EQ(state.current_backoff(), 0s);
}

TEST(RestartState, RestartStartsNewGrace) {
  TimePoint start{};
  RestartPolicy policy = test_policy();
  policy.grace = 10s;
  policy.failures = 1;
  RestartState state(policy, start);
  state.on_restart(start + 20s);
  EXPECT_EQ(state.on_probe(false, start + 25s), GuardianAction::grace);
  EXPECT_EQ(state.on_probe(false, start + 31s), GuardianAction::backoff);
}

}  // namespace
}  // namespace sanctum::probe
