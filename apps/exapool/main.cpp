// `exapool`: the command line of the exapool connection pool runtime.
#include "actors/version.hpp"
#include "apps/exapool/command.hpp"

#include <cstring>
#include <iostream>

namespace {

void print_usage(std::ostream& out) {
  out << "usage: exapool <command> [options]\n\n"
         "commands:\n"
         "  demo    the pool's effect: a dbt-like workload without and with exapool\n"
         "  main    start exasim and run a query through the C++ client over wss\n"
         "  sim     run exasim, an Exasol-protocol server backed by SQLite\n"
         "  query   run SQL against Exasol (or exasim) and print the result as a table\n"
         "  stats   the pool counters of a running service (its exapool.admin-port)\n"
         "  proxy   the pool as an Exasol server: unmodified clients get pooled connections\n\n"
         "`exapool <command> --help` lists a command's options; `exapool --version` prints the "
         "version.\n";
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const char* command = argv[1];
  // The subcommand sees itself as argv[0], so CAF's parser reads only its options.
  int sub_argc = argc - 1;
  char** sub_argv = argv + 1;
  if (std::strcmp(command, "sim") == 0)
    return exapool::cli::run_sim(sub_argc, sub_argv);
  if (std::strcmp(command, "query") == 0)
    return exapool::cli::run_query(sub_argc, sub_argv);
  if (std::strcmp(command, "demo") == 0)
    return exapool::cli::run_demo(sub_argc, sub_argv);
  if (std::strcmp(command, "stats") == 0)
    return exapool::cli::run_stats(sub_argc, sub_argv);
  if (std::strcmp(command, "proxy") == 0)
    return exapool::cli::run_proxy(sub_argc, sub_argv);
  if (std::strcmp(command, "main") == 0)
    return exapool::cli::run_main_job(sub_argc, sub_argv);
  if (std::strcmp(command, "--version") == 0 || std::strcmp(command, "-V") == 0 ||
      std::strcmp(command, "version") == 0) {
    std::cout << "exapool " << EXAPOOL_VERSION_STRING << "\n";
    return 0;
  }
  if (std::strcmp(command, "--help") == 0 || std::strcmp(command, "-h") == 0 ||
      std::strcmp(command, "help") == 0) {
    print_usage(std::cout);
    return 0;
  }
  std::cerr << "error: unknown command '" << command << "'\n";
  print_usage(std::cerr);
  return 2;
}
