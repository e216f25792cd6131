// The boundary between exasim's protocol front (WebSocket, TLS, login, command dispatch,
// result encoding) and the engine that runs SQL. exasim's engine is SQLite; a later engine is
// exapool itself, so nothing here knows about SQLite or sockets.
#pragma once

#include "integration/exasim/attributes.hpp"

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

namespace exasim {

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

// One per logged-in session. The front never calls two of these at once for one session,
// but calls may come from different threads, and they may block (they run on worker
// threads, never on the I/O threads). interrupt() may be called from any thread at any time.
class engine_session {
public:
  virtual ~engine_session() = default;
  virtual execution execute(const std::string& sql_text, attribute_set& attributes) = 0;
  // Applies attribute changes that need engine work (autocommit on commits an open
  // transaction) and refreshes openTransaction.
  virtual std::optional<sql_error> sync_attributes(attribute_set& attributes) = 0;
  virtual std::variant<prepared_statement_info, sql_error> prepare(const std::string& sql_text) = 0;
  // `data` is column-major with num_rows rows (numbers, strings, booleans or null).
  virtual execution execute_prepared(std::int64_t handle, const boost::json::array& data,
                                     std::size_t num_rows, attribute_set& attributes) = 0;
  virtual bool close_prepared(std::int64_t handle) = 0;
  virtual void interrupt() = 0;
};

struct session_identity {
  std::uint64_t session_id = 0;
  std::string user_name;
};

class engine {
public:
  virtual ~engine() = default;
  virtual std::unique_ptr<engine_session> open_session(const session_identity& who) = 0;
};

} // namespace exasim
