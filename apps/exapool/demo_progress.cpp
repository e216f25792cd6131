#include "apps/exapool/demo_progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace exapool::cli {

progress_style progress_style::for_stderr(std::chrono::milliseconds interval) {
  progress_style style;
  style.overwrite = isatty(STDERR_FILENO) != 0;
  if (interval.count() > 0)
    style.interval = interval;
  else if (style.overwrite)
    style.interval = std::chrono::seconds(1);
  return style;
}

progress_reporter::progress_reporter(std::string label, const char* unit, const char* opened_what,
                                     std::size_t total, std::function<progress_counts()> counts,
                                     progress_style style)
    : label_(std::move(label)), unit_(unit), opened_what_(opened_what), total_(total),
      counts_(std::move(counts)), style_(style) {
  // What stdout printed so far comes first, also when it is a pipe (fully buffered).
  std::fflush(stdout);
  thread_ = std::thread([this] { run(); });
}

progress_reporter::~progress_reporter() {
  {
    std::lock_guard<std::mutex> lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  report(true);
}

void progress_reporter::run() {
  std::unique_lock<std::mutex> lock{mutex_};
  while (!wake_.wait_for(lock, style_.interval, [this] { return stopping_; })) {
    lock.unlock(); // counts_ may ask the runtime: never while the destructor waits for the lock
    report(false);
    lock.lock();
  }
}

void progress_reporter::report(bool last) {
  auto c = counts_();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char line[160];
  std::snprintf(line, sizeof line, "  %s: %zu/%zu %s, %llu %s, %.1f s", label_.c_str(), c.done,
                total_, unit_, static_cast<unsigned long long>(c.opened), opened_what_, elapsed);
  // On a terminal the line is rewritten (padded over a longer previous one) and ended only by
  // the last report; elsewhere each report is a line. One write each: no torn lines.
  if (style_.overwrite)
    std::fprintf(stderr, "\r%-78s%s", line, last ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", line);
  std::fflush(stderr);
}

} // namespace exapool::cli
