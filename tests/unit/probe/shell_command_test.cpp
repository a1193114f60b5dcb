#include <gtest/gtest.h>

#include "probe/shell_command.hpp"

namespace sanctum::probe {
namespace {

using namespace std::chrono_literals;

TEST(ShellCommand, CapturesOutputAndExitCode) {
  auto outcome = run_shell_command("echo out; echo err >&2; exit 3", 5s);
  EXPECT_TRUE(outcome.started);
  EXPECT_EQ(outcome.exit_code, 3);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_EQ(outcome.output, "out\nerr\n");
}

TEST(ShellCommand, KeepsTailOfLongOutput) {
  auto outcome = run_shell_command("seq 1 2000", 5s, 10);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_TRUE(outcome.output_truncated);
  EXPECT_EQ(outcome.output, "1999\n2000\n");
}

TEST(ShellCommand, KillsCommandPastTimeout) {
  auto outcome = run_shell_command("echo started; exec sleep 10", 300ms);
  EXPECT_TRUE(outcome.timed_out);
  EXPECT_EQ(outcome.exit_code, 128 + 9);
  EXPECT_EQ(outcome.output, "started\n");
  EXPECT_LT(outcome.duration, 3s);
}

TEST(ShellCommand, BackgroundChildDoesNotHoldIt) {
  // The background sleep keeps the output pipe open after the shell exits.
  auto outcome = run_shell_command("sleep 3 & echo launched", 10s);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_EQ(outcome.output, "launched\n");
  EXPECT_LT(outcome.duration, 2s);
}

}  // namespace
}  // namespace sanctum::probe
