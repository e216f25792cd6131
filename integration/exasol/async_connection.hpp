// One Exasol session over a WebSocket (ws or wss), asynchronous: Beast operations on a strand
// of the executor it is created on, so many connections share a few I/O threads. It drives the
// protocol commands of protocol.hpp; the synchronous exasol::connection is a thin driver over
// it, so there is one I/O implementation and one protocol implementation.
//
// Every handler runs on the connection's strand and gets (exception_ptr, value): the same
// exasol::error kinds and texts as the synchronous API. Start one operation at a time and start
// the next from the previous one's handler or after it ran; abort_query() and close() are the
// calls that any thread may make at any time. The state accessors (session(), is_open(), ...)
// are for the thread that owns the connection while no operation runs.
#pragma once

#include "integration/exasol/connection.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace exasol {
namespace protocol {
class command;
struct session_state;
} // namespace protocol

class async_connection {
public:
  template <class T> using handler = std::function<void(std::exception_ptr, T)>;
  using done_handler = std::function<void(std::exception_ptr)>;

  // Checks the options (throws error_kind::config as connection's constructor does); no I/O.
  async_connection(boost::asio::any_io_executor ex, connection_options options);
  ~async_connection(); // close()
  async_connection(const async_connection&) = delete;
  async_connection& operator=(const async_connection&) = delete;

  // Resolves every DSN address, shuffles, connects to the first that answers, logs in.
  void async_open(done_handler h);
  // The one exchange loop: runs any protocol command to its end.
  void async_run(std::shared_ptr<protocol::command> cmd, done_handler h);

  void async_execute(std::string sql, handler<std::vector<result>> h);
  void async_execute_batch(std::vector<std::string> sql_texts, handler<std::vector<result>> h);
  void async_prepare(std::string sql, handler<prepared_statement> h);
  void async_execute_prepared(prepared_statement statement, std::vector<std::vector<value>> rows,
                              handler<std::vector<result>> h);
  void async_execute_prepared_raw(std::int64_t handle, std::string parameter_columns_json,
                                  std::string data_json, std::uint64_t num_rows,
                                  handler<std::vector<result>> h);
  void async_close_prepared(std::int64_t handle, done_handler h);
  void async_get_attributes(handler<exasol::attributes> h);
  void async_set_attributes(exasol::attributes attrs, done_handler h);
  void async_close_leftovers(done_handler h);
  // Sends disconnect, tolerates EOF instead of the reply, closes (even on an error).
  void async_disconnect(done_handler h);

  void abort_query(); // thread-safe; does nothing when no query runs
  void close();       // thread-safe; drops the socket without a goodbye (on the strand)
  // As close(), and `h` runs on the strand once the socket is closed: a caller that must not
  // go on while the socket lives (a pool slot freed only then) waits for it. Nothing opens
  // afterwards: an async_open still connecting fails instead of trying the next address.
  void close(done_handler h);

  const session_info& session() const;
  const std::string& peer_address() const;
  const protocol::session_state& state() const;
  bool is_open() const;
  bool is_broken() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_; // shared with every pending handler
};

} // namespace exasol
