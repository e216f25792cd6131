// A child process for the multi-process tests: started with posix_spawn, its stdout read
// line by line with a deadline, killed and reaped. The environment is the parent's plus
// `extra` (passwords go there, never into argv). Deadlines are hang guards, never assertions.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace exapool::testing {

class child_process {
public:
  child_process(const std::string& exe, const std::vector<std::string>& args,
                const std::vector<std::string>& extra_env = {}) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e)
      envp.push_back(*e);
    for (const auto& e : extra_env)
      envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      throw std::runtime_error("cannot start " + exe + ": " + std::strerror(rc));
    }
    out_ = fds[0];
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    kill(SIGKILL);
    wait();
    ::close(out_);
  }

  // The next line of its stdout; nullopt at its end or when none comes within `limit`.
  std::optional<std::string> read_line(std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        auto line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{out_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return std::nullopt;
      char buf[4096];
      auto n = ::read(out_, buf, sizeof buf);
      if (n <= 0)
        return std::nullopt;
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  // Skips lines until one starts with `prefix`; returns the rest of it.
  std::optional<std::string> await_line(const std::string& prefix) {
    while (auto line = read_line())
      if (line->rfind(prefix, 0) == 0)
        return line->substr(prefix.size());
    return std::nullopt;
  }

  void kill(int signal) {
    if (pid_ > 0 && !status_)
      ::kill(pid_, signal);
  }

  // Its exit status as waitpid reports it (blocks until it ended).
  int wait() {
    if (!status_ && pid_ > 0) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      status_ = status;
    }
    return status_.value_or(-1);
  }

  bool exited_ok() {
    auto status = wait();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
  std::optional<int> status_;
};

} // namespace exapool::testing
