#pragma once

// Runs a program to completion and captures what it prints, for tests that
// drive the sanctum binary or cross-check with the openssl CLI.

#include <map>
#include <string>
#include <vector>

namespace sanctum::test {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number when a signal ended it
  std::string output;  // stdout and stderr, interleaved as written
};

// Runs argv[0] (looked up in PATH) with `extra_env` added to this process's
// environment, waits for it, and returns its exit code and output. Throws
// std::runtime_error when the program cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& extra_env = {});

// Starts argv[0] like run_process() without waiting, with output discarded,
// and returns its pid for wait_process().
int start_process(const std::vector<std::string>& argv);

// Waits for a pid from start_process() and returns its exit code.
int wait_process(int pid);

}  // namespace sanctum::test
