#include "apps/exapool/demo_processes.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits.h>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace exapool::cli {
namespace {

std::string own_executable() {
  char path[PATH_MAX];
  auto n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0)
    throw std::runtime_error(std::string("cannot find this executable: ") + std::strerror(errno));
  return std::string(path, static_cast<std::size_t>(n));
}

struct child_result {
  bool ok = false;
  double connect_ms = 0;
  std::string error; // the child's stderr other than its timings line
};

// Reads the child's stderr to its end: the timings line, and anything else as its error.
void read_report(int fd, child_result& out) {
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    if (text.size() < 64 * 1024) // a child that floods is not kept whole
      text.append(buf, static_cast<std::size_t>(n));
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    auto line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(std::min(rest.size(), line.size() + 1));
    constexpr std::string_view key = "timings connect_ms=";
    if (line.substr(0, key.size()) == key)
      out.connect_ms = std::strtod(std::string(line.substr(key.size())).c_str(), nullptr);
    else if (!line.empty() && out.error.empty())
      out.error = std::string(line);
  }
}

child_result run_child(const std::string& exe, const std::vector<std::string>& args) {
  child_result out;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    out.error = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    out.error = std::string("cannot start a client process: ") + std::strerror(rc);
    return out;
  }
  read_report(pipe_fds[0], out);
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!out.ok && out.error.empty())
    out.error = "the client process failed (status " + std::to_string(status) + ")";
  return out;
}

} // namespace

process_run run_client_processes(std::uint16_t port, const std::string& user,
                                 const std::string& password, std::size_t processes,
                                 std::size_t parallel, std::atomic<std::size_t>* finished) {
  auto exe = own_executable();
  // The children inherit it; argv would show it to every user of the machine.
  ::setenv("EXAPOOL_PASSWORD", password.c_str(), 1);
  std::atomic<std::size_t> next{0};
  // Each runner sums its own children; the sums are added up once the runners are done.
  auto runner = [&](process_run& mine) {
    for (std::size_t i; (i = next++) < processes;) {
      auto r =
          run_child(exe, {"query", "--exasol.dsn=127.0.0.1:" + std::to_string(port),
                          "--exasol.plain-ws", "--exasol.user=" + user, "--exasol.timings",
                          "SELECT " + std::to_string(i) + " AS RUN_NO, COUNT(*) AS N FROM DUAL"});
      mine.connect_s += r.connect_ms / 1000.0;
      if (!r.ok && mine.failed++ == 0)
        mine.first_error = r.error;
      if (finished != nullptr)
        ++*finished;
    }
  };
  auto start = std::chrono::steady_clock::now();
  std::vector<process_run> parts(std::max<std::size_t>(1, std::min(parallel, processes)));
  std::vector<std::thread> runners;
  for (auto& part : parts)
    runners.emplace_back(runner, std::ref(part));
  for (auto& t : runners)
    t.join();
  process_run run;
  run.processes = processes;
  for (auto& part : parts) {
    run.connect_s += part.connect_s;
    run.failed += part.failed;
    if (run.first_error.empty())
      run.first_error = part.first_error;
  }
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

} // namespace exapool::cli
