// The subcommands of the `exapool` command line. Each parses its own options with CAF's
// conventions (--help, --group.key=value, caf-application.ini) and returns the process exit code.
#pragma once

namespace exapool::cli {

int run_sim(int argc, char** argv);
int run_query(int argc, char** argv);
int run_main_job(int argc, char** argv);
int run_demo(int argc, char** argv);
int run_stats(int argc, char** argv);
int run_proxy(int argc, char** argv);

} // namespace exapool::cli
