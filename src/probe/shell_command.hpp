#pragma once

#include <chrono>
#include <string>

namespace sanctum::probe {

struct CommandOutcome {
  bool started = false;    // false when /bin/sh could not be started; see `error`
  int exit_code = -1;      // exit status, 128 + N when signal N ended it, -1 when not started
  bool timed_out = false;  // the command ran past its limit and was killed with SIGKILL
  std::string output;      // stdout and stderr interleaved; the last `max_output` bytes
  bool output_truncated = false;
  std::chrono::milliseconds duration{0};
  std::string error;  // why the command could not be started
};

// Runs `command` with `/bin/sh -c`, stdin from /dev/null and stdout and stderr
// captured, and waits up to `timeout` for the shell to exit. On timeout only
// the shell's own pid is killed, not its process group, because a restart
// command may legitimately leave the restarted server running in that group.
// Output still arriving after the shell exits is read for at most 100 ms, so
// a server started in the background that keeps the pipe open does not hold
// the guardian. The child starts with the default disposition and an empty
// mask for every signal, whatever the guardian blocks.
CommandOutcome run_shell_command(const std::string& command, std::chrono::milliseconds timeout,
                                 std::size_t max_output = 4096);

}  // namespace sanctum::probe
