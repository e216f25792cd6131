// Runs a command against a hostile server, for command-line tests (tests/cli):
//   hostile_server_run <scenario> [--limit=<seconds>] -- <command> [args...]
// "{dsn}" in an argument becomes the server's address (127.0.0.1:<port>, plain ws). The exit
// code is the command's; when it has not ended within the limit (default 60 s) it is killed,
// "hung: ..." is printed and the exit code is 124.
#include "tests/support/hostile_server.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>

extern char** environ;

namespace {

using namespace exapool::testing;

std::map<std::string, scenario> named_scenarios() {
  return {{"heartbeats-during-login", scenarios::heartbeats_during_login()},
          {"silent-after-upgrade", scenarios::silent_after_upgrade()},
          {"garbage-during-login", scenarios::garbage_during_login()},
          {"wrong-public-key", scenarios::wrong_public_key()},
          {"close-mid-login", scenarios::close_mid_login()},
          {"never-answers", scenarios::never_answers()},
          {"close-mid-message", scenarios::close_mid_message()}};
}

int usage(const std::string& why) {
  std::cerr << "hostile_server_run: " << why
            << "\nusage: hostile_server_run <scenario> [--limit=<seconds>] -- <command> [args...]"
               "\nscenarios:";
  for (const auto& [name, ignored] : named_scenarios())
    std::cerr << " " << name;
  std::cerr << "\n";
  return 2;
}

std::string with_dsn(std::string arg, const std::string& dsn) {
  for (auto at = arg.find("{dsn}"); at != std::string::npos; at = arg.find("{dsn}", at))
    arg.replace(at, 5, dsn);
  return arg;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return usage("no scenario given");
  auto all = named_scenarios();
  auto found = all.find(argv[1]);
  if (found == all.end())
    return usage(std::string("unknown scenario '") + argv[1] + "'");
  int limit_s = 60;
  int i = 2;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    if (std::strncmp(argv[i], "--limit=", 8) != 0 || std::atoi(argv[i] + 8) <= 0)
      return usage(std::string("unknown argument '") + argv[i] + "'");
    limit_s = std::atoi(argv[i] + 8);
  }
  if (i + 1 >= argc)
    return usage("no command given after --");

  hostile_server server(found->second);
  std::vector<std::string> args;
  for (int a = i + 1; a < argc; ++a)
    args.push_back(with_dsn(argv[a], server.dsn()));
  std::vector<char*> raw;
  for (auto& a : args)
    raw.push_back(a.data());
  raw.push_back(nullptr);

  pid_t child = 0;
  if (int rc = posix_spawnp(&child, raw[0], nullptr, nullptr, raw.data(), environ); rc != 0) {
    std::cerr << "hostile_server_run: cannot start " << args[0] << ": " << std::strerror(rc)
              << "\n";
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::seconds(limit_s);
  int status = 0;
  while (waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      std::cerr << "hung: " << args[0] << " did not end within " << limit_s << " s\n";
      return 124;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "hostile_server_run: " << args[0] << " ended after " << took << " s\n";
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
