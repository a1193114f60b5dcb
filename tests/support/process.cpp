#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace sanctum::test {

namespace {

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    env.emplace_back(*e);
  }
  for (const auto& entry : extra) {
    auto name = entry.substr(0, entry.find('=') + 1);
    std::erase_if(env, [&](const std::string& existing) { return existing.rfind(name, 0) == 0; });
    env.push_back(entry);
  }
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& values) {
  std::vector<char*> out;
  for (auto& v : values) {
    out.push_back(v.data());
  }
  out.push_back(nullptr);
  return out;
}

int spawn(const std::vector<std::string>& argv, posix_spawn_file_actions_t* actions,
          const std::vector<std::string>& extra_env) {
  std::vector<std::string> args = argv;
  std::vector<std::string> env = merged_environment(extra_env);
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0].c_str(), actions, nullptr, c_args.data(), c_env.data());
  if (rc != 0) {
    throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(rc));
  }
  return pid;
}

}  // namespace

Process Process::start(const std::vector<std::string>& argv, const std::filesystem::path& out,
                       const std::filesystem::path& err, const std::vector<std::string>& extra_env) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  Process process;
  process.pid_ = spawn(argv, &actions, extra_env);
  posix_spawn_file_actions_destroy(&actions);
  return process;
}

Process Process::start_piped(const std::vector<std::string>& argv, const std::filesystem::path& err) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  Process process;
  process.pid_ = spawn(argv, &actions, {});
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  process.stdout_fd_ = fds[0];
  return process;
}

Process::Process(Process&& other) noexcept
    : pid_(other.pid_), stdout_fd_(other.stdout_fd_), pending_(std::move(other.pending_)),
      exit_code_(other.exit_code_) {
  other.pid_ = -1;
  other.stdout_fd_ = -1;
}

Process& Process::operator=(Process&& other) noexcept {
  std::swap(pid_, other.pid_);
  std::swap(stdout_fd_, other.stdout_fd_);
  std::swap(pending_, other.pending_);
  std::swap(exit_code_, other.exit_code_);
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(5));
  }
  if (stdout_fd_ >= 0) {
    ::close(stdout_fd_);
  }
}

bool Process::running() {
  if (pid_ <= 0 || exit_code_) {
    return false;
  }
  return !wait(std::chrono::milliseconds(0)).has_value();
}

void Process::send_signal(int signal) {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, signal);
  }
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) {
    return exit_code_;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto newline = pending_.find('\n');
    if (newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || stdout_fd_ < 0) {
      return std::nullopt;
    }
    pollfd descriptor{stdout_fd_, POLLIN, 0};
    if (::poll(&descriptor, 1, static_cast<int>(left.count())) <= 0) {
      return std::nullopt;
    }
    char buffer[4096];
    ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n <= 0) {
      if (pending_.empty()) {
        return std::nullopt;
      }
      std::string rest = std::move(pending_);
      pending_.clear();
      return rest;
    }
    pending_.append(buffer, static_cast<size_t>(n));
  }
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::vector<std::string>& extra_env) {
  char out_name[] = "/tmp/sanctum-cmd-out-XXXXXX";
  char err_name[] = "/tmp/sanctum-cmd-err-XXXXXX";
  ::close(::mkstemp(out_name));
  ::close(::mkstemp(err_name));
  CommandResult result;
  {
    Process process = Process::start(argv, out_name, err_name, extra_env);
    auto code = process.wait(timeout);
    if (code) {
      result.exit_code = *code;
    } else {
      process.send_signal(SIGKILL);
      process.wait(std::chrono::seconds(5));
    }
  }
  result.out = read_text(out_name);
  result.err = read_text(err_name);
  ::unlink(out_name);
  ::unlink(err_name);
  return result;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::filesystem::path& path, const std::string& text, unsigned mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  ::chmod(path.c_str(), mode);
}

}  // namespace sanctum::test
