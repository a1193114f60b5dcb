#include "probe/shell_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace sanctum::probe {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kDrainAfterExit{100};

int exit_code_of(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

// Appends `data` and keeps only the last `max_output` bytes.
void keep_tail(CommandOutcome& outcome, const char* data, std::size_t size, std::size_t max_output) {
  outcome.output.append(data, size);
  if (outcome.output.size() > max_output) {
    outcome.output.erase(0, outcome.output.size() - max_output);
    outcome.output_truncated = true;
  }
}

// Waits up to `wait` for output and reads what arrived. Returns false at end
// of output.
bool read_available(int fd, std::chrono::milliseconds wait, CommandOutcome& outcome,
                    std::size_t max_output) {
  pollfd descriptor{fd, POLLIN, 0};
  if (::poll(&descriptor, 1, static_cast<int>(wait.count())) <= 0) {
    return true;
  }
  char buffer[4096];
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n > 0) {
    keep_tail(outcome, buffer, static_cast<std::size_t>(n), max_output);
    return true;
  }
  return n < 0 && errno == EINTR;
}

struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;

  SpawnSetup(int pipe_read, int pipe_write) {
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipe_write, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipe_write, STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_read);
    posix_spawn_file_actions_addclose(&actions, pipe_write);

    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

}  // namespace

CommandOutcome run_shell_command(const std::string& command, std::chrono::milliseconds timeout,
                                 std::size_t max_output) {
  CommandOutcome outcome;
  auto started = Clock::now();
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    outcome.error = fmt::format("cannot create a pipe: {}", std::strerror(errno));
    return outcome;
  }
  pid_t pid = -1;
  {
    SpawnSetup setup(pipe_fds[0], pipe_fds[1]);
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    int spawned = posix_spawn(&pid, "/bin/sh", &setup.actions, &setup.attributes,
                              const_cast<char* const*>(argv), environ);
    ::close(pipe_fds[1]);
    if (spawned != 0) {
      ::close(pipe_fds[0]);
      outcome.error = fmt::format("cannot start /bin/sh: {}", std::strerror(spawned));
      return outcome;
    }
  }
  outcome.started = true;

  int status = 0;
  bool exited = false;
  bool open = true;
  while (!exited) {
    if (open) {
      open = read_available(pipe_fds[0], std::chrono::milliseconds(50), outcome, max_output);
    } else {
      ::usleep(20'000);
    }
    exited = ::waitpid(pid, &status, WNOHANG) == pid;
    if (!exited && Clock::now() - started >= timeout) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      outcome.timed_out = true;
      exited = true;
    }
  }
  auto drain_until = Clock::now() + kDrainAfterExit;
  while (open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(drain_until - Clock::now());
    pollfd descriptor{pipe_fds[0], POLLIN, 0};
    if (left <= std::chrono::milliseconds::zero() ||
        ::poll(&descriptor, 1, static_cast<int>(left.count())) <= 0) {
      break;
    }
    open = read_available(pipe_fds[0], std::chrono::milliseconds::zero(), outcome, max_output);
  }
  ::close(pipe_fds[0]);
  outcome.exit_code = exit_code_of(status);
  outcome.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  return outcome;
}

}  // namespace sanctum::probe
