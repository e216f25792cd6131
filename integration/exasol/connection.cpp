// The synchronous client: a thin driver over async_connection. Each call starts the
// asynchronous operation on a private io_context and runs that io_context on the caller's
// thread until the handler ran, then returns its value or rethrows its error. So the blocking
// API has no threads of its own and no I/O code of its own: the deadlines, the aborts and the
// protocol are the asynchronous client's. abort_query() from another thread posts to the
// connection's strand, which the thread inside the wait picks up.
#include "integration/exasol/connection.hpp"

#include "integration/exasol/async_connection.hpp"
#include "integration/exasol/protocol.hpp"

#include <boost/asio/io_context.hpp>

#include <optional>

namespace exasol {
namespace net = boost::asio;

struct connection::impl {
  explicit impl(connection_options o) : conn(ioc.get_executor(), std::move(o)) {}

  // Starts an operation with a handler that records its outcome, runs the io_context until it
  // did, and hands back the value or rethrows.
  template <class T, class Start> T wait(Start start) {
    std::exception_ptr error;
    std::optional<T> value;
    bool done = false;
    start([&](std::exception_ptr e, T v) {
      error = e;
      value.emplace(std::move(v));
      done = true;
    });
    run_until(done);
    if (error)
      std::rethrow_exception(error);
    return std::move(*value);
  }

  template <class Start> void wait_done(Start start) {
    std::exception_ptr error;
    bool done = false;
    start([&](std::exception_ptr e) {
      error = e;
      done = true;
    });
    run_until(done);
    if (error)
      std::rethrow_exception(error);
  }

  void run_until(const bool& done) {
    while (!done) {
      if (ioc.stopped())
        ioc.restart();
      ioc.run_one();
    }
  }

  // Runs what is queued now (a posted close, handlers of operations a close ended).
  void settle() {
    ioc.restart();
    ioc.poll();
  }

  net::io_context ioc; // before conn: the connection's handlers die with it
  async_connection conn;
};

connection::connection(connection_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {
  impl_->wait_done([&](auto h) { impl_->conn.async_open(h); });
}

connection::~connection() {
  close();
}

const session_info& connection::session() const {
  return impl_->conn.session();
}
const std::string& connection::peer_address() const {
  return impl_->conn.peer_address();
}

std::vector<result> connection::execute(std::string_view sql) {
  return impl_->wait<std::vector<result>>(
      [&](auto h) { impl_->conn.async_execute(std::string(sql), h); });
}

result_set connection::query(std::string_view sql) {
  auto results = execute(sql);
  if (results.empty() || !results.front().is_result_set())
    throw error(error_kind::config, "the statement returned a row count, not a result set");
  return std::move(results.front().rows);
}

std::vector<result> connection::execute_batch(const std::vector<std::string>& sql_texts) {
  return impl_->wait<std::vector<result>>(
      [&](auto h) { impl_->conn.async_execute_batch(sql_texts, h); });
}

prepared_statement connection::prepare(std::string_view sql) {
  return impl_->wait<prepared_statement>(
      [&](auto h) { impl_->conn.async_prepare(std::string(sql), h); });
}

std::vector<result> connection::execute_prepared(const prepared_statement& statement,
                                                 const std::vector<std::vector<value>>& rows) {
  return impl_->wait<std::vector<result>>(
      [&](auto h) { impl_->conn.async_execute_prepared(statement, rows, h); });
}

std::vector<result> connection::execute_prepared_raw(std::int64_t handle,
                                                     std::string_view parameter_columns_json,
                                                     std::string_view data_json,
                                                     std::uint64_t num_rows) {
  return impl_->wait<std::vector<result>>([&](auto h) {
    impl_->conn.async_execute_prepared_raw(handle, std::string(parameter_columns_json),
                                           std::string(data_json), num_rows, h);
  });
}

void connection::close_prepared(prepared_statement& statement) {
  if (statement.handle <= 0)
    return;
  impl_->wait_done([&](auto h) { impl_->conn.async_close_prepared(statement.handle, h); });
  statement.handle = 0;
}

const exasol::attributes& connection::get_attributes() {
  impl_->wait<exasol::attributes>([&](auto h) { impl_->conn.async_get_attributes(h); });
  return impl_->conn.state().attrs;
}

void connection::set_attributes(const exasol::attributes& attrs) {
  impl_->wait_done([&](auto h) { impl_->conn.async_set_attributes(attrs, h); });
}

void connection::abort_query() {
  impl_->conn.abort_query();
}

void connection::disconnect() {
  impl_->wait_done([&](auto h) { impl_->conn.async_disconnect(h); });
}

void connection::close() noexcept {
  impl_->conn.close();
  impl_->settle();
}

bool connection::is_open() const {
  return impl_->conn.is_open();
}
bool connection::is_broken() const {
  return impl_->conn.is_broken();
}
const exasol::attributes& connection::attributes() const {
  return impl_->conn.state().attrs;
}
bool connection::autocommit() const {
  return impl_->conn.state().autocommit();
}
std::string connection::current_schema() const {
  return impl_->conn.state().current_schema();
}
bool connection::transaction_may_be_open() const {
  return impl_->conn.state().transaction_may_be_open();
}

void connection::close_leftovers() {
  impl_->wait_done([&](auto h) { impl_->conn.async_close_leftovers(h); });
}

std::size_t connection::open_result_sets() const {
  return impl_->conn.state().open_handles.size();
}
std::size_t connection::open_prepared_statements() const {
  return impl_->conn.state().open_statements.size();
}

} // namespace exasol
