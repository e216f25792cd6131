// The dbt-shaped half of `exapool demo`: short-lived client processes, as dbt's threads or
// pyexasol scripts are, each logging in, running a statement and disconnecting. They are this
// executable's own `exapool query`, so the demo needs nothing installed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace exapool::cli {

struct process_run {
  std::size_t processes = 0, failed = 0;
  double wall_s = 0;
  double connect_s = 0; // the sum of every process's connect + login time
  std::string first_error;
};

// Runs `processes` clients against 127.0.0.1:port over plain ws, `parallel` at a time; the
// password reaches them through their environment (EXAPOOL_PASSWORD), never their argv.
// `finished` (when given) counts the processes that ended, while they run: the progress.
process_run run_client_processes(std::uint16_t port, const std::string& user,
                                 const std::string& password, std::size_t processes,
                                 std::size_t parallel,
                                 std::atomic<std::size_t>* finished = nullptr);

} // namespace exapool::cli
