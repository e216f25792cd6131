// `exapool demo`'s progress while a phase runs: statements (or processes) done of the total,
// connections opened so far and the time since the phase began, read from real counters (the
// demo's own, the runtime's stats, exasim's) at a fixed interval, never estimated.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace exapool::cli {

struct progress_counts {
  std::size_t done = 0;     // statements or processes finished
  std::uint64_t opened = 0; // connections (or server sessions) opened since the phase began
};

// How progress is shown. On a terminal one line is rewritten in place (\r) every second: the
// user watches it, and an overwritten line costs nothing. Anywhere else (a CI log, a file, a
// pipe) every report is a line of its own that stays forever, so it comes every 5 s: a long
// run still shows that it moves, and the table after it is not buried under progress lines.
struct progress_style {
  bool overwrite = false;
  std::chrono::milliseconds interval{5000};
  // For stderr (where progress goes, so stdout keeps only results): the terminal rule above,
  // or `interval` when it is not zero (--demo.progress-interval).
  static progress_style for_stderr(std::chrono::milliseconds interval);
};

// Reports a phase's progress on stderr from its own thread, which sleeps on a condition
// variable between reports (no polling in between) and stops with the reporter. The last
// report, at the end, shows the final counts. `counts` is called on that thread.
class progress_reporter {
public:
  progress_reporter(std::string label, const char* unit, const char* opened_what, std::size_t total,
                    std::function<progress_counts()> counts, progress_style style);
  ~progress_reporter(); // the final report
  progress_reporter(const progress_reporter&) = delete;
  progress_reporter& operator=(const progress_reporter&) = delete;

private:
  void run();
  void report(bool last);

  std::string label_;
  const char* unit_;
  const char* opened_what_;
  std::size_t total_;
  std::function<progress_counts()> counts_;
  progress_style style_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_; // started by the constructor's body, once every member is set
};

} // namespace exapool::cli
