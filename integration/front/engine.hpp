// The boundary between the protocol front (WebSocket, TLS, login, command dispatch, result
// encoding) and the engine that runs SQL: exasim's SQLite, or exapool proxy's pool. The
// boundary is asynchronous, so no thread waits for an engine per client. Nothing here knows
// about SQLite, pools or sockets.
#pragma once

#include "integration/front/attributes.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace exafront {

// An Exasol error: a 5-character sqlCode and its text.
struct sql_error {
  std::string sql_code;
  std::string text;
};

struct column {
  std::string name;
  boost::json::object data_type; // {"type":"DECIMAL","precision":18,"scale":0}, ...
};

// Rows already encoded as Exasol JSON values, column-major: data[column][row].
struct result_set {
  std::vector<column> columns;
  std::vector<boost::json::array> data;
  std::size_t num_rows = 0;
};

// One statement's result: a result set, or a row count.
struct statement_result {
  std::optional<result_set> rows;
  std::int64_t row_count = 0;
};

struct execution {
  std::vector<statement_result> results;
  std::optional<sql_error> error;
};

struct prepared_statement_info {
  std::int64_t handle = 0;
  std::vector<column> parameters;
  // Columns of a query (rows empty), or nullopt for a statement returning a row count.
  std::optional<result_set> result_columns;
};

// What a logged-in session looks like from outside (a row of EXA_ALL_SESSIONS).
struct session_row {
  std::uint64_t session_id = 0;
  std::string user_name;
  std::string status; // "IDLE" or "EXECUTE SQL"
  std::string client, driver, os_user, os_name, host;
  bool encrypted = false;
  std::string current_schema;
  std::int64_t query_timeout = 0; // the session's queryTimeout (EXA_ALL_SESSIONS.QUERY_TIMEOUT)
  std::chrono::system_clock::time_point login_time;
};

// Services the front offers the engine: the live sessions, and killing them.
class engine_host {
public:
  virtual ~engine_host() = default;
  virtual std::vector<session_row> sessions() const = 0;
  // KILL SESSION: drops that session's connection. False when no such session is live.
  virtual bool kill_session(std::uint64_t session_id) = 0;
  // KILL STATEMENT IN SESSION: aborts its running statement (it ends with R0003).
  virtual bool abort_statement(std::uint64_t session_id) = 0;
};

// Completions: each is called exactly once, from any thread (the front posts the result to
// the connection's strand). An engine never calls one on the caller's stack while holding a
// lock the caller might need; calling it inline is allowed.
template <class T> using done = std::function<void(T)>;

// One per logged-in session. The front never starts two calls at once for one session, keeps
// the session alive until the running call's completion has run, and does not touch
// `attributes` between a call and its completion (the engine may read and update it on any
// thread meanwhile). interrupt() may be called from any thread at any time: the running call
// then completes soon, with R0003 when it was a statement. No call may block its caller.
class engine_session {
public:
  virtual ~engine_session() = default;
  // One statement (execute), or several in order (executeBatch: stops at the first error),
  // with the session's attributes applied first.
  virtual void execute(std::vector<std::string> statements, attribute_set& attributes,
                       done<execution> completion) = 0;
  // setAttributes: applies attribute changes that need engine work (autocommit on commits an
  // open transaction) and refreshes openTransaction.
  virtual void sync_attributes(attribute_set& attributes,
                               done<std::optional<sql_error>> completion) = 0;
  virtual void prepare(std::string sql_text, attribute_set& attributes,
                       done<std::variant<prepared_statement_info, sql_error>> completion) = 0;
  // `data` is column-major with num_rows rows (numbers, strings, booleans or null).
  virtual void execute_prepared(std::int64_t handle, boost::json::array data, std::size_t num_rows,
                                attribute_set& attributes, done<execution> completion) = 0;
  virtual void close_prepared(std::int64_t handle, done<bool> completion) = 0;
  virtual void interrupt() = 0;
  // A command this engine cannot serve gets this error (an Exasol-style text naming the
  // limitation) instead of "unknown command". Called on the strand; must not block.
  virtual std::optional<sql_error> unsupported(const std::string& /*command*/) const {
    return std::nullopt;
  }
};

// A login as the front received it. The password is already decrypted with the connection's
// RSA key: a secret, never to be logged.
struct login_request {
  std::uint64_t session_id = 0; // the id the front will announce
  std::string user;             // as the client sent it
  std::string password;         // password login
  bool token = false;           // loginToken: one of the tokens below instead of a password
  std::string access_token, refresh_token;
  session_row identity; // client, driver, OS user and name, peer host, encrypted
  int protocol_version = 3;
};

struct login_accepted {
  std::unique_ptr<engine_session> session;
  std::string user_name; // as EXA_ALL_SESSIONS shows it
  std::string database_name = "EXASIM", release_version = "8.29.1";
};

// A refusal is an sql_error (08004 for credentials), sent to the client as it is.
using login_outcome = std::variant<login_accepted, sql_error>;

class engine {
public:
  virtual ~engine() = default;
  virtual void open_session(login_request request, done<login_outcome> completion) = 0;
};

} // namespace exafront
