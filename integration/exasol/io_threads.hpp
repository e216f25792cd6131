// A small, fixed set of threads running one io_context: the executor every asynchronous
// Exasol connection of a process shares, so the thread count stays constant however many
// connections are open. Never call the synchronous client API from one of these threads.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <memory>

namespace exasol {

class io_threads {
public:
  explicit io_threads(std::size_t n = 1); // n >= 1 (0 counts as 1)
  ~io_threads();                          // stop_and_join()
  io_threads(const io_threads&) = delete;
  io_threads& operator=(const io_threads&) = delete;

  boost::asio::any_io_executor executor() const;
  std::size_t size() const;
  // Stops the io_context now (the threads return from run()); handlers still
  // queued are destroyed with it (they hold only shared_ptrs).
  void stop();
  // stop(), then waits for every thread to return (never call it on one of them).
  void stop_and_join();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// One I/O thread shared by the whole process, started on first use and stopped at exit: for
// code that opens asynchronous connections without an io_threads of its own (the runtime has
// its own).
io_threads& shared_io_threads();

} // namespace exasol
