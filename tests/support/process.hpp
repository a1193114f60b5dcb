#pragma once

#include <chrono>
#include <thread>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sanctum::test {

// A child process started by a test. The destructor kills it (SIGKILL, by
// pid) if it is still running, so a failed test leaves nothing behind.
class Process {
 public:
  // Starts argv[0] (looked up in PATH when it has no slash) with stdout and
  // stderr written to the given files and stdin from /dev/null. `extra_env`
  // entries ("NAME=VALUE") are added to the test's environment.
  static Process start(const std::vector<std::string>& argv, const std::filesystem::path& out,
                       const std::filesystem::path& err,
                       const std::vector<std::string>& extra_env = {});

  // Starts argv with stdout connected to a pipe that read_line() reads.
  static Process start_piped(const std::vector<std::string>& argv, const std::filesystem::path& err);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();

  int pid() const { return pid_; }
  bool running();
  void send_signal(int signal);

  // Waits for the process to end. Returns its exit code, 128 + N when signal
  // N ended it, or nothing when `timeout` passed first.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  // Reads one line (without the newline) from the stdout pipe, waiting up to
  // `timeout`. Returns nothing at end of output or on timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);

 private:
  Process() = default;
  int pid_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when the command timed out and was killed
  std::string out;
  std::string err;
};

// Runs a command to completion (bounded by `timeout`) and returns its exit
// code and output.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30),
                          const std::vector<std::string>& extra_env = {});

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <class Condition>
bool wait_until(Condition condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

// Reads a whole file, "" when it does not exist.
std::string read_text(const std::filesystem::path& path);

// Writes `text` to `path` with the given mode.
void write_text(const std::filesystem::path& path, const std::string& text, unsigned mode = 0644);

}  // namespace sanctum::test
