// What the thread-based benchmarks share: a worker thread's tally, and a start line that
// releases every worker at once after each has done its untimed setup (e.g. logged in).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <sys/resource.h>

namespace exapool::bench {

using clock_type = std::chrono::steady_clock;

// The p-quantile (0..1) of latencies in microseconds, in milliseconds; reorders them.
inline double percentile_ms(std::vector<double>& latencies_us, double p) {
  if (latencies_us.empty())
    return 0.0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(latencies_us.size() - 1));
  std::nth_element(latencies_us.begin(), latencies_us.begin() + static_cast<std::ptrdiff_t>(k),
                   latencies_us.end());
  return latencies_us[k] / 1000.0;
}

// CPU time (user + system) of the whole process, every thread, in microseconds: what a variant
// costs the client machine, which wall time hides when the server shares the cores.
inline double process_cpu_us() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto micros = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
  };
  return micros(usage.ru_utime) + micros(usage.ru_stime);
}

// What a worker thread records; merged into the case's figures after the run.
struct thread_tally {
  std::vector<double> latencies_us;
  std::size_t queries = 0, errors = 0;
  std::uint64_t connections = 0;
  std::string first_error;

  void fail(const std::string& why) {
    if (errors++ == 0)
      first_error = why;
  }
};

// Releases every worker at once, after each has done its setup (e.g. connected).
class start_line {
public:
  explicit start_line(std::size_t n) : waiting_for_(n) {}
  void ready_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (--waiting_for_ == 0)
      all_ready_.notify_all();
    go_.wait(lock, [&] { return started_; });
  }
  clock_type::time_point start_when_ready() {
    std::unique_lock<std::mutex> lock(mutex_);
    all_ready_.wait(lock, [&] { return waiting_for_ == 0; });
    started_ = true;
    start_ = clock_type::now();
    go_.notify_all();
    return start_;
  }
  clock_type::time_point start() const { return start_; } // valid once released

private:
  std::mutex mutex_;
  std::condition_variable all_ready_, go_;
  std::size_t waiting_for_;
  bool started_ = false;
  clock_type::time_point start_;
};

} // namespace exapool::bench
