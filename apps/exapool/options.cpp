#include "apps/exapool/options.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace exapool::cli {

namespace {

// The config's option set is protected; a member pointer taken in a derived class reads it
// from any config without a cast.
struct option_set_access : caf::actor_system_config {
  static const caf::config_option_set& of(const caf::actor_system_config& cfg) {
    return cfg.*(&option_set_access::custom_options_);
  }
};

std::string text_of(caf::string_view view) {
  return std::string(view.begin(), view.end());
}

// Options CAF 0.17 registers itself: listed by --long-help, not by --help. A command's own
// option may sit in the global group (`--format`).
bool is_cafs_own(const caf::config_option& opt) {
  auto category = opt.category();
  if (category == caf::string_view{"global"}) {
    auto name = text_of(opt.long_name());
    return name == "help" || name == "long-help" || name == "dump-config" || name == "config-file";
  }
  for (const char* own :
       {"scheduler", "work-stealing", "logger", "middleman", "openssl", "opencl", "stream", "caf"})
    if (category == caf::string_view{own})
      return true;
  return false;
}

// "exapool demo" for a subcommand (it sees its own name as argv[0]), else the program's name.
std::string program_name(int argc, char** argv) {
  if (argc == 0)
    return "exapool";
  std::string name = argv[0];
  auto slash = name.rfind('/');
  return slash == std::string::npos ? "exapool " + name : name.substr(slash + 1);
}

// Options whose value is a secret: --help never shows their current value (it may come from
// the environment).
bool is_secret(caf::string_view name) {
  auto text = text_of(name);
  for (const char* word : {"password", "token", "secret"})
    if (text.find(word) != std::string::npos)
      return true;
  return false;
}

// What the option holds before the command line is read (its default, or what the environment
// set), as --help shows it; empty for secrets and empty values.
std::string shown_default(const caf::config_option& opt) {
  if (opt.is_flag() || is_secret(opt.full_name()))
    return "";
  auto value = opt.get();
  if (!value)
    return "";
  auto text = to_string(*value);
  if (text.empty() || text == "\"\"" || text == "[]")
    return "";
  return text == "0d" ? "0s" : text; // CAF writes a zero timespan in days
}

// What a value of this type looks like, for an error about a bad one.
std::string example_of(caf::string_view type) {
  auto t = text_of(type);
  if (t == "timespan")
    return " (e.g. 500ms, 10s, 5min)";
  if (t == "uint16")
    return " (a whole number from 0 to 65535)";
  if (t.find("int") != std::string::npos)
    return " (a whole number in the type's range)";
  if (t == "string")
    return "";
  return "";
}

// The option meant by a misspelt name: the same key in another group, else the nearest name
// within two edits.
std::string suggestion_for(const caf::config_option_set& options, const std::string& name) {
  auto key = name.substr(name.find('.') == std::string::npos ? 0 : name.find('.') + 1);
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
      row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
        diagonal = up;
      }
    }
    return row[b.size()];
  };
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& opt : options) {
    if (is_cafs_own(opt))
      continue;
    auto full = text_of(opt.full_name());
    if (text_of(opt.long_name()) == key)
      return full;
    if (auto d = distance(full, name); d < best_distance) {
      best = full;
      best_distance = d;
    }
  }
  return best;
}

// Explains, argument by argument, why CAF refused the command line: an unknown option (and
// the one probably meant), a missing or malformed value (and what one looks like), a flag given
// a value. Falls back to CAF's own text when no argument explains it.
void explain_refusal(const caf::actor_system_config& cfg, int argc, char** argv,
                     const caf::error& err) {
  const auto& options = option_set_access::of(cfg);
  bool explained = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0)
      continue;
    auto eq = arg.find('=');
    auto name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    auto opt = options.qualified_name_lookup(name);
    if (opt == nullptr) {
      if (name.find('.') == std::string::npos && options.cli_long_name_lookup(name) != nullptr)
        continue; // CAF's own short form (--config-file and the like)
      std::cerr << "error: unknown option --" << name;
      if (auto meant = suggestion_for(options, name); !meant.empty())
        std::cerr << " (did you mean --" << meant << "?)";
      std::cerr << "\n";
      explained = true;
    } else if (opt->is_flag()) {
      if (eq != std::string::npos) {
        std::cerr << "error: --" << name << " is a flag (boolean options are flags): write --"
                  << name << ", not " << arg << "\n";
        explained = true;
      }
    } else if (eq == std::string::npos) {
      std::cerr << "error: --" << name << " needs a value: --" << name << "=<"
                << text_of(opt->type_name()) << ">" << example_of(opt->type_name()) << "\n";
      explained = true;
    } else if (auto value = arg.substr(eq + 1); !opt->parse(value)) {
      std::cerr << "error: --" << name << "=" << (is_secret(opt->full_name()) ? "***" : value)
                << ": not a " << text_of(opt->type_name()) << example_of(opt->type_name()) << "\n";
      explained = true;
    }
  }
  if (!explained)
    std::cerr << "error: the options cannot be read: " << to_string(err) << "\n";
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
    if (is_cafs_own(opt))
      continue;
    ++printed;
    auto global = opt.category() == caf::string_view{"global"};
    out << "  --" << text_of(global ? opt.long_name() : opt.full_name());
    if (!opt.is_flag())
      out << "=<" << text_of(opt.type_name()) << ">";
    out << "\n      " << text_of(opt.description());
    if (auto shown = shown_default(opt); !shown.empty())
      out << " [default: " << shown << "]";
    out << "\n";
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
  // A lone '-' (read from stdin) is an argument, not an option: CAF 0.17 refuses it, so it
  // passes the parser as stdin_argument.
  std::vector<std::string> args(argv, argv + argc);
  std::vector<char*> parsed;
  for (auto& arg : args) {
    if (&arg != &args.front() && arg == "-")
      arg = stdin_argument;
    parsed.push_back(arg.data());
  }
  if (auto err = cfg.parse(argc, parsed.data())) {
    explain_refusal(cfg, argc, argv, err);
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
