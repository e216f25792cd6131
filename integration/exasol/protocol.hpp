// The Exasol protocol without I/O: a session's state and the commands that run on it. A command
// says which request text to send next and takes the reply's text; a driver (today the
// synchronous exasol::connection) owns the socket, the deadlines and the aborts. So the protocol
// logic (login, the fetch loop, the result size limits, the bookkeeping of open handles) exists
// once, whatever drives it. Commands throw exasol::error exactly as the client reports it.
#pragma once

#include "integration/exasol/connection.hpp"
#include "integration/exasol/errors.hpp"
#include "integration/exasol/request.hpp"
#include "integration/exasol/values.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace exasol::protocol {

// How a driver waits for the reply: a plain reply has a hard deadline; a query's reply has the
// query deadlines (silence, query timeout, abort) instead.
enum class wait { reply, query };

// What a command wants next: send `request` and hand back the reply, or nothing (done).
struct step {
  bool done = true;
  std::string request;
  wait how = wait::reply;

  static step send(std::string request, wait how = wait::reply) {
    return {false, std::move(request), how};
  }
  static step finished() { return {}; }
};

// A protocol violation a command found itself (not a parser). The text is "protocol error: " +
// reason, as the client always reported it; the driver records `reason` as why it broke.
class violation : public error {
public:
  explicit violation(const std::string& reason)
      : error(error_kind::protocol, "protocol error: " + reason), reason_(reason) {}
  const std::string& reason() const { return reason_; }

private:
  std::string reason_;
};

// What the client knows about its session; commands read and update it.
struct session_state {
  session_info info;
  exasol::attributes attrs;          // merged from every response
  std::uint64_t attrs_version = 0;   // counts the changes of attrs (merge, login)
  bool compressed = false;           // zlib frames, from the end of the login on
  bool configured_autocommit = true; // connection_options::autocommit, until the server says
  // Server-side objects this session holds; a pool closes leftovers before reusing it.
  std::set<std::int64_t> open_handles, open_statements;
  std::size_t statements_since_end = 0; // since the last COMMIT or ROLLBACK that succeeded

  void merge(const exasol::attributes& changed);
  bool autocommit() const;
  std::string current_schema() const;
  // True when autocommit is off and statements ran since the last COMMIT/ROLLBACK, or the
  // server reported openTransaction = true.
  bool transaction_may_be_open() const;
};

class command {
public:
  virtual ~command() = default;
  virtual step start(session_state& s) = 0;
  virtual step on_response(session_state& s, std::string_view text) = 0;
};

// login or loginToken, the credentials (the password RSA-encrypted with the server's key), then
// getAttributes. A server error before the session exists becomes error_kind::auth; a password
// too long for the key is error_kind::config.
class login_command : public command {
public:
  explicit login_command(const connection_options& opts);
  step start(session_state& s) override;
  step on_response(session_state& s, std::string_view text) override;

private:
  step on_key(std::string_view text);
  step on_session(session_state& s, std::string_view text);

  enum class stage { key, credentials, attributes } stage_ = stage::key;
  bool token_;
  int protocol_version_;
  bool compression_;
  std::string password_;
  request::credentials credentials_;
};

// The limits a query applies to its results (from connection_options).
struct result_limits {
  std::uint64_t max_rows = 0, max_bytes = 0, fetch_bytes = 0;
  static result_limits of(const connection_options& opts);
};

// execute, executeBatch or executePreparedStatement, then per result set with a handle: fetches
// until every row is in, then closeResultSet. A result beyond the limits closes every handle of
// the statement, then throws error_kind::result_too_large (the session stays usable).
class query_command : public command {
public:
  static query_command execute(std::string_view sql, const result_limits& limits);
  static query_command batch(const std::vector<std::string>& sql_texts,
                             const result_limits& limits);
  static query_command prepared(const prepared_statement& statement,
                                const std::vector<std::vector<value>>& rows,
                                const result_limits& limits);
  static query_command prepared_raw(std::int64_t handle, std::string_view parameter_columns_json,
                                    std::string_view data_json, std::uint64_t num_rows,
                                    const result_limits& limits);

  step start(session_state& s) override;
  step on_response(session_state& s, std::string_view text) override;
  std::vector<result> take_results() { return std::move(results_); }

private:
  query_command(std::string request, std::size_t statements, std::optional<std::size_t> after_end,
                const result_limits& limits);
  step on_results(session_state& s, std::string_view text);
  step on_fetch(session_state& s, std::string_view text);
  step on_closed(session_state& s, std::string_view text);
  step on_too_large_closed(session_state& s, std::string_view text);
  step next_result(session_state& s);
  step fetch_or_close();
  std::optional<step> check_size(session_state& s);
  step close_next_too_large();

  enum class stage { results, fetch, close, too_large } stage_ = stage::results;
  std::string request_;
  std::size_t statements_; // counted before sending (a failure may open a transaction)
  // Statements after the last COMMIT/ROLLBACK in the texts: the count once they succeeded.
  std::optional<std::size_t> after_end_;
  result_limits limits_;
  std::vector<result> results_;
  std::size_t current_ = 0;          // the result being fetched or closed
  std::uint64_t bytes_ = 0;          // what its rows take so far
  std::deque<std::int64_t> closing_; // handles still to close before result_too_large
  std::string too_large_why_;
};

// One request and one reply: `handle` parses the reply and updates the state. The simple
// commands below are made of it.
class exchange_command : public command {
public:
  using handler = std::function<void(session_state&, std::string_view)>;
  exchange_command(std::string request, handler h)
      : request_(std::move(request)), handle_(std::move(h)) {}
  step start(session_state& s) override;
  step on_response(session_state& s, std::string_view text) override;

private:
  std::string request_;
  handler handle_;
};

exchange_command close_prepared(std::int64_t handle);
exchange_command get_attributes();
exchange_command set_attributes(const exasol::attributes& attrs);
exchange_command disconnect();

// createPreparedStatement; the statement counts as open from its reply on.
class prepare_command : public command {
public:
  explicit prepare_command(std::string_view sql);
  step start(session_state& s) override;
  step on_response(session_state& s, std::string_view text) override;
  prepared_statement take_statement() { return std::move(statement_); }

private:
  std::string request_;
  prepared_statement statement_;
};

// closeResultSet for every open handle, then closePreparedStatement for every open statement.
// A server error means the object is gone already: it counts as closed.
class close_leftovers_command : public command {
public:
  step start(session_state& s) override;
  step on_response(session_state& s, std::string_view text) override;

private:
  step next();
  std::deque<std::int64_t> handles_, statements_;
  bool closing_statement_ = false;
  std::int64_t current_ = 0;
};

} // namespace exasol::protocol
