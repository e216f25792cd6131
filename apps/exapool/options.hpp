// Option handling shared by the subcommands: CAF parses, these helpers turn the outcome into the
// process's behaviour (help printed, a bad option named, secrets read from the environment).
#pragma once

#include <caf/actor_system_config.hpp>

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

// True when argv asks for help (--help, -h or -?).
bool asks_for_help(int argc, char** argv);

// The options the program added (every group but CAF's own), one per line, to `out`.
void print_own_options(const caf::actor_system_config& cfg, std::ostream& out);

// The value of an environment variable, or `fallback` when it is unset or empty.
std::string env_or(const char* name, std::string fallback);

} // namespace exapool::cli
