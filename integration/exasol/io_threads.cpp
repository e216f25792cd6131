// io_threads: one io_context, a work guard so that idle threads wait instead of returning, and
// n threads calling run().
#include "integration/exasol/io_threads.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <thread>
#include <vector>

namespace exasol {
namespace net = boost::asio;

struct io_threads::impl {
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard{ioc.get_executor()};
  std::vector<std::thread> threads;
};

io_threads::io_threads(std::size_t n) : impl_(std::make_unique<impl>()) {
  for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i)
    impl_->threads.emplace_back([ioc = &impl_->ioc] { ioc->run(); });
}

io_threads::~io_threads() {
  stop_and_join();
}

void io_threads::stop_and_join() {
  stop();
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
}

net::any_io_executor io_threads::executor() const {
  return impl_->ioc.get_executor();
}

std::size_t io_threads::size() const {
  return impl_->threads.size();
}

void io_threads::stop() {
  impl_->guard.reset();
  impl_->ioc.stop();
}

io_threads& shared_io_threads() {
  static io_threads shared{1};
  return shared;
}

} // namespace exasol
