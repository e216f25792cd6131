#include "apps/exapool/options.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace exapool::cli {

namespace {

// The config's option set is protected; a member pointer taken in a derived class reads it
// from any config without a cast.
struct option_set_access : caf::actor_system_config {
  static const caf::config_option_set& of(const caf::actor_system_config& cfg) {
    return cfg.*(&option_set_access::custom_options_);
  }
};

// Groups CAF 0.17 registers itself: listed by --long-help, not by --help.
bool is_cafs_own(caf::string_view category) {
  for (const char* own : {"global", "scheduler", "work-stealing", "logger", "middleman", "openssl",
                          "opencl", "stream", "caf"})
    if (category == caf::string_view{own})
      return true;
  return false;
}

std::string text_of(caf::string_view view) {
  return std::string(view.begin(), view.end());
}

// "exapool demo" for a subcommand (it sees its own name as argv[0]), else the program's name.
std::string program_name(int argc, char** argv) {
  if (argc == 0)
    return "exapool";
  std::string name = argv[0];
  auto slash = name.rfind('/');
  return slash == std::string::npos ? "exapool " + name : name.substr(slash + 1);
}

} // namespace

bool asks_for_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "-?")
      return true;
  }
  return false;
}

void print_own_options(const caf::actor_system_config& cfg, std::ostream& out) {
  std::size_t printed = 0;
  for (const auto& opt : option_set_access::of(cfg)) {
    if (is_cafs_own(opt.category()))
      continue;
    ++printed;
    out << "  --" << text_of(opt.full_name());
    if (!opt.is_flag())
      out << "=<" << text_of(opt.type_name()) << ">";
    out << "\n      " << text_of(opt.description()) << "\n";
  }
  if (printed == 0)
    out << "  none of its own\n";
}

std::optional<int> parse_options(caf::actor_system_config& cfg, int argc, char** argv) {
  if (asks_for_help(argc, argv)) {
    std::cout << "usage: " << program_name(argc, argv) << " [options]\n\noptions:\n";
    print_own_options(cfg, std::cout);
    std::cout << "\nOptions may also come from caf-application.ini ([group] key=value) or\n"
                 "--config-file=<file>; boolean options are flags. --long-help adds CAF's own\n"
                 "options (scheduler, logger, ...).\n";
    return 0;
  }
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "error: " << to_string(err) << "\n";
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg.size() > 6 &&
          (arg.rfind("=true") == arg.size() - 5 || arg.rfind("=false") == arg.size() - 6))
        std::cerr << "(boolean options are flags: write --group.flag, not " << arg << ")\n";
    }
    std::cerr << "(see --help)\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (!cfg.remainder.empty() && cfg.remainder.front().rfind("--", 0) == 0) {
    std::cerr << "error: unknown option " << cfg.remainder.front() << " (see --help)\n";
    return 2;
  }
  return std::nullopt;
}

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

namespace {

bool stdin_is_pipe() {
  struct stat st {};
  return fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

// Turns end-of-input on a piped stdin into SIGTERM, so one sigwait() covers both ways to stop.
void watch_stdin_for_eof() {
  std::thread([] {
    char buffer[256];
    while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
    }
    kill(getpid(), SIGTERM);
  }).detach();
}

} // namespace

stop_signal::stop_signal() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

void stop_signal::wait() {
  if (stdin_is_pipe())
    watch_stdin_for_eof();
  int received = 0;
  sigwait(&signals_, &received);
}

std::uint64_t raise_open_files_limit(std::uint64_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return 0;
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min<rlim_t>(wanted, limit.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
      getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

} // namespace exapool::cli
