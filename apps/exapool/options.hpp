// Option handling shared by the subcommands: CAF parses, these helpers turn the outcome into the
// process's behaviour (help printed, a bad option named, secrets read from the environment).
#pragma once

#include <caf/actor_system_config.hpp>

#include <csignal>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace exapool::cli {

// Parses argv (argv[0] is the subcommand's name) into cfg. Returns an exit code when the
// command must stop here: 0 after --help, 2 after a bad option (named on stderr).
// CAF 0.17's own --help lists only its global options; here --help (-h, -?) prints every
// option the program added, group by group, with its type and description (--long-help
// still prints CAF's full list, its scheduler and logger options included).
std::optional<int> parse_options(caf::actor_system_config& cfg, int argc, char** argv);

// What parse_options leaves in cfg.remainder for a lone '-' (read from stdin).
inline constexpr const char* stdin_argument = "<stdin>";

// True when argv asks for help (--help, -h or -?).
bool asks_for_help(int argc, char** argv);

// The options the program added (every group but CAF's own), one per line, to `out`.
void print_own_options(const caf::actor_system_config& cfg, std::ostream& out);

// The value of an environment variable, or `fallback` when it is unset or empty.
std::string env_or(const char* name, std::string fallback);

// Raises this process's soft limit on open files toward `wanted`, at most to the hard limit
// (Debian's default soft limit, 1024, is far below what a proxy of thousands of clients needs).
// Returns the soft limit now in force (0 when it cannot be read).
std::uint64_t raise_open_files_limit(std::uint64_t wanted);

// How a server command (sim, proxy) waits to stop: SIGINT, SIGTERM, or the end of its standard
// input when that is a pipe (so a parent test process that dies takes the server with it).
// Construct it before any thread starts: it blocks the signals, every later thread inherits
// the mask, and only wait() sees them.
class stop_signal {
public:
  stop_signal();
  void wait(); // returns once a stop was asked for

private:
  sigset_t signals_;
};

} // namespace exapool::cli
