#include "integration/exasim/sqlite_engine.hpp"

#include "integration/exasim/exasol_statements.hpp"
#include "integration/exasim/value_types.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <stdexcept>
#include <string_view>

namespace exasim {
namespace {

struct db_closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct stmt_finalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

// A connection serves one session, whose calls come one at a time (on a worker or, for the
// quick path, an I/O thread), so it needs no mutex of its own: SQLite's multi-thread mode.
// With FULLMUTEX every sqlite3_column_* call locked it, a fifth of exasim's CPU for 1,000
// rows. sqlite3_interrupt, the one call from elsewhere, is safe from any thread.
db_ptr open_database(const std::string& path, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_ptr db(raw);
  if (rc != SQLITE_OK)
    throw std::runtime_error("cannot open SQLite database " + path + ": " +
                             (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  return db;
}

void exec_or_throw(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw std::runtime_error("SQLite setup failed (" + sql + "): " + text);
  }
}

std::string position_text(std::string_view sql, int offset) {
  if (offset < 0 || static_cast<std::size_t>(offset) > sql.size())
    return {};
  int line = 1, column = 1;
  for (int i = 0; i < offset; ++i) {
    if (sql[static_cast<std::size_t>(i)] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return " [line " + std::to_string(line) + ", column " + std::to_string(column) + "]";
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Rewrites SQLite's message into Exasol's wording where Exasol has a fixed phrase.
std::string exasol_wording(const std::string& message) {
  static const std::pair<const char*, const char*> rewrites[] = {
      {"no such table: ", "object "},
      {"no such column: ", "object "},
      {"no such view: ", "object "},
      {"no such function: ", "function "},
  };
  for (auto [from, to] : rewrites)
    if (starts_with(message, from))
      return to + upper_ascii(message.substr(std::string_view(from).size())) + " not found";
  if (starts_with(message, "table ") && message.find(" already exists") != std::string::npos)
    return "object " + upper_ascii(message.substr(6, message.find(" already exists") - 6)) +
           " already exists";
  if (starts_with(message, "near ")) {
    auto end = message.find(": syntax error");
    if (end != std::string::npos)
      return "syntax error, unexpected " + message.substr(5, end - 5);
  }
  return message;
}

std::string session_suffix(std::uint64_t session_id) {
  return " (Session: " + std::to_string(session_id) + ")";
}

raw_value read_value(sqlite3_stmt* stmt, int i) {
  raw_value v;
  switch (sqlite3_column_type(stmt, i)) {
  case SQLITE_INTEGER:
    v.cls = raw_value::storage::integer;
    v.integer = sqlite3_column_int64(stmt, i);
    break;
  case SQLITE_FLOAT:
    v.cls = raw_value::storage::real;
    v.real = sqlite3_column_double(stmt, i);
    break;
  case SQLITE_TEXT:
    v.cls = raw_value::storage::text;
    v.bytes.assign(reinterpret_cast<const char*>(sqlite3_column_text(stmt, i)),
                   static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)));
    break;
  case SQLITE_BLOB: {
    v.cls = raw_value::storage::blob;
    auto data = static_cast<const char*>(sqlite3_column_blob(stmt, i));
    v.bytes.assign(data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)));
    break;
  }
  default:
    break;
  }
  return v;
}

// Exasol upper-cases unquoted identifiers; keep a name as written only when the SQL quoted it.
std::string column_label(sqlite3_stmt* stmt, int i, std::string_view sql) {
  const char* raw = sqlite3_column_name(stmt, i);
  std::string name = raw ? raw : "";
  if (sql.find("\"" + name + "\"") != std::string_view::npos)
    return name;
  return upper_ascii(name);
}

std::optional<exa_type> declared_type(sqlite3_stmt* stmt, int i) {
  const char* decl = sqlite3_column_decltype(stmt, i);
  return decl ? type_from_declaration(decl) : std::nullopt;
}

result_set encode_rows(sqlite3_stmt* stmt, std::string_view sql,
                       std::vector<std::vector<raw_value>>& values) {
  result_set out;
  int n = sqlite3_column_count(stmt);
  // A statement that never stepped (a prepared SELECT run with 0 parameter rows) collected no
  // column vectors: every column is empty then, not missing.
  values.resize(std::max(values.size(), static_cast<std::size_t>(n)));
  out.num_rows = values.empty() ? 0 : values.front().size();
  for (int i = 0; i < n; ++i) {
    auto& column_values = values[static_cast<std::size_t>(i)];
    exa_type type = declared_type(stmt, i).value_or(type_from_values(column_values));
    out.columns.push_back({column_label(stmt, i, sql), data_type_json(type)});
    boost::json::array encoded;
    encoded.reserve(column_values.size());
    for (const auto& v : column_values)
      encoded.push_back(encode_value(v, type));
    column_values.clear();
    out.data.push_back(std::move(encoded));
  }
  return out;
}

// Steps until done, appending rows to `values` (one vector per column).
int step_all(sqlite3_stmt* stmt, std::vector<std::vector<raw_value>>& values) {
  int n = sqlite3_column_count(stmt);
  values.resize(static_cast<std::size_t>(n));
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW)
      return rc;
    for (int i = 0; i < n; ++i)
      values[static_cast<std::size_t>(i)].push_back(read_value(stmt, i));
  }
}

// For the I/O thread: no busy wait, and an interrupt once the statement has run
// quick_budget_steps SQLite VM steps; both undone at the end of the scope.
class quick_limits {
public:
  static constexpr int steps_per_check = 1000, quick_budget_steps = 20'000;
  quick_limits(sqlite3* db, int busy_timeout_ms) : db_(db), busy_timeout_ms_(busy_timeout_ms) {
    sqlite3_busy_timeout(db_, 0);
    sqlite3_progress_handler(db_, steps_per_check, &quick_limits::check, this);
  }
  ~quick_limits() {
    sqlite3_progress_handler(db_, 0, nullptr, nullptr);
    sqlite3_busy_timeout(db_, busy_timeout_ms_);
  }
  quick_limits(const quick_limits&) = delete;
  quick_limits& operator=(const quick_limits&) = delete;
  bool over_budget() const { return over_; }

private:
  static int check(void* self) {
    auto* limits = static_cast<quick_limits*>(self);
    limits->steps_ += steps_per_check;
    limits->over_ = limits->steps_ >= quick_budget_steps;
    return limits->over_ ? 1 : 0;
  }
  sqlite3* db_;
  int busy_timeout_ms_;
  int steps_ = 0;
  bool over_ = false;
};

bool only_separators(const char* tail) {
  for (; tail && *tail; ++tail)
    if (!std::isspace(static_cast<unsigned char>(*tail)) && *tail != ';')
      return false;
  return true;
}

std::string timestamp_now(std::chrono::system_clock::time_point t) {
  auto seconds = std::chrono::system_clock::to_time_t(t);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()) %
                std::chrono::seconds(1);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long>(micros.count()));
  return buf;
}

const char* const session_views[] = {"EXA_ALL_SESSIONS", "EXA_DBA_SESSIONS", "EXA_USER_SESSIONS"};

class sqlite_session : public sync_session {
public:
  sqlite_session(sqlite_engine& engine, session_identity who)
      : engine_(engine), who_(std::move(who)),
        db_(open_database(engine.path(), engine.busy_timeout_ms())) {
    exec_or_throw(db_.get(), "PRAGMA foreign_keys=ON");
    // Connection-private (TEMP) objects: each session sees its own, fresh copy.
    exec_or_throw(db_.get(), "CREATE TEMP VIEW DUAL AS SELECT 'X' AS DUMMY");
    exec_or_throw(db_.get(),
                  "CREATE TEMP TABLE EXA_ALL_SESSIONS (SESSION_ID DECIMAL(20,0), USER_NAME "
                  "VARCHAR(128), STATUS VARCHAR(30), COMMAND_NAME VARCHAR(40), STMT_ID "
                  "DECIMAL(9,0), DURATION VARCHAR(20), QUERY_TIMEOUT DECIMAL(7,0), ACTIVITY "
                  "VARCHAR(100), TEMP_DB_RAM DECIMAL(10,1), PERSISTENT_DB_RAM DECIMAL(10,1), "
                  "LOGIN_TIME TIMESTAMP, CLIENT VARCHAR(100), DRIVER VARCHAR(100), ENCRYPTED "
                  "BOOLEAN, HOST VARCHAR(100), OS_USER VARCHAR(40), OS_NAME VARCHAR(100), "
                  "SCOPE_SCHEMA VARCHAR(128), CONSUMER_GROUP VARCHAR(128), NICE BOOLEAN, "
                  "RESOURCES DECIMAL(3,0), SQL_TEXT VARCHAR(2000000))");
    exec_or_throw(db_.get(),
                  "CREATE TEMP VIEW EXA_DBA_SESSIONS AS SELECT * FROM temp.EXA_ALL_SESSIONS");
    char* user_view = sqlite3_mprintf(
        "CREATE TEMP VIEW EXA_USER_SESSIONS AS SELECT * FROM temp.EXA_ALL_SESSIONS WHERE "
        "USER_NAME = %Q",
        who_.user_name.c_str());
    std::string sql = user_view;
    sqlite3_free(user_view);
    exec_or_throw(db_.get(), sql);
  }

  ~sqlite_session() override {
    prepared_.clear(); // finalize before the connection closes
  }

  execution execute(const std::string& sql, attribute_set& attributes) override {
    auto statement = classify_statement(sql);
    execution out = statement.what == exasol_statement::kind::other
                        ? run_sql(sql, attributes)
                        : run_exasol_statement(statement, attributes);
    attributes.set_open_transaction(in_transaction());
    return out;
  }

  // A lone SELECT of a session in a settled transaction state (nothing to BEGIN or COMMIT
  // first) that reads no session view runs here, with no lock wait and a budget of VM steps;
  // anything else, or a statement that hits either limit, goes to a worker and starts again
  // there (a read-only statement left nothing behind). No Exasol-only statement starts with
  // SELECT (exasol_statements.hpp), so it needs no classify_statement.
  std::optional<execution> try_execute_quick(const std::string& exasol_sql,
                                             attribute_set& attributes) override {
    if (attributes.autocommit() == in_transaction() || !starts_with_word(exasol_sql, "SELECT"))
      return std::nullopt;
    auto sql = sqlite_text(exasol_sql);
    if (mentions_session_view(sql))
      return std::nullopt;
    auto one = prepare_one(sql);
    if (one.error || !sqlite3_stmt_readonly(one.stmt.get()))
      return std::nullopt; // the worker reports what is wrong with it
    auto changes_before = sqlite3_total_changes64(db_.get());
    auto& values = quick_values_;
    for (auto& column : values)
      column.clear();
    int rc;
    {
      quick_limits limits(db_.get(), engine_.busy_timeout_ms());
      rc = step_all(one.stmt.get(), values);
      if (limits.over_budget() || (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return std::nullopt;
    }
    // An error of its own, or an abort from another thread, is answered here.
    execution out = outcome(one.stmt.get(), sql, rc, values, changes_before);
    attributes.set_open_transaction(in_transaction());
    return out;
  }

  std::optional<sql_error> sync_attributes(attribute_set& attributes) override {
    std::optional<sql_error> error;
    if (attributes.autocommit() && in_transaction())
      error = exec("COMMIT", "COMMIT");
    attributes.set_open_transaction(in_transaction());
    return error;
  }

  std::variant<prepared_statement_info, sql_error> prepare(const std::string& sql) override {
    if (classify_statement(sql).what != exasol_statement::kind::other)
      return sql_error{"0A000", "exasim cannot prepare this Exasol statement; execute it" +
                                    session_suffix(who_.session_id)};
    return prepare_sql(sqlite_text(sql));
  }

  std::variant<prepared_statement_info, sql_error> prepare_sql(const std::string& sql) {
    auto one = prepare_one(sql);
    if (one.error)
      return *one.error;
    auto stmt = std::move(one.stmt);
    prepared_statement_info info;
    info.handle = next_handle_++;
    int parameters = sqlite3_bind_parameter_count(stmt.get());
    auto types = parameter_types(sql, parameters);
    for (const auto& type : types)
      info.parameters.push_back({"", data_type_json(type)});
    int columns = sqlite3_column_count(stmt.get());
    if (columns > 0) {
      result_set described;
      for (int i = 0; i < columns; ++i) {
        exa_type type = declared_type(stmt.get(), i).value_or(exa_type::varchar());
        described.columns.push_back({column_label(stmt.get(), i, sql), data_type_json(type)});
      }
      info.result_columns = std::move(described);
    }
    prepared_.emplace(info.handle, prepared{std::move(stmt), sql});
    return info;
  }

  execution execute_prepared(std::int64_t handle, const boost::json::array& data,
                             std::size_t num_rows, attribute_set& attributes) override {
    execution out = run_prepared(handle, data, num_rows, attributes);
    attributes.set_open_transaction(in_transaction());
    return out;
  }

  bool close_prepared(std::int64_t handle) override { return prepared_.erase(handle) > 0; }

  void interrupt() override { sqlite3_interrupt(db_.get()); }

private:
  struct prepared {
    stmt_ptr stmt;
    std::string sql;
  };

  // SQLite knows no parameter types. For "INSERT INTO t ... VALUES (?, ...)" the target
  // columns' declared types are the answer; every other parameter is VARCHAR (which takes
  // any value).
  std::vector<exa_type> parameter_types(const std::string& sql, int count) {
    std::vector<exa_type> types(static_cast<std::size_t>(count), exa_type::varchar());
    auto targets = insert_parameter_targets(sql);
    if (!targets || targets->positions.size() != types.size())
      return types;
    std::vector<std::pair<std::string, std::string>> table_columns; // name, declared type
    char* pragma = sqlite3_mprintf("PRAGMA table_info(%Q)", targets->table.c_str());
    sqlite3_stmt* raw = nullptr;
    sqlite3_prepare_v2(db_.get(), pragma, -1, &raw, nullptr);
    sqlite3_free(pragma);
    stmt_ptr info(raw);
    while (info && sqlite3_step(info.get()) == SQLITE_ROW) {
      auto text = [&](int i) {
        auto p = sqlite3_column_text(info.get(), i);
        return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
      };
      table_columns.emplace_back(text(1), text(2));
    }
    for (std::size_t i = 0; i < types.size(); ++i) {
      int position = targets->positions[i];
      if (position < 0)
        continue;
      std::string declared;
      if (targets->columns.empty()) {
        if (static_cast<std::size_t>(position) < table_columns.size())
          declared = table_columns[static_cast<std::size_t>(position)].second;
      } else if (static_cast<std::size_t>(position) < targets->columns.size()) {
        for (const auto& [name, type] : table_columns)
          if (upper_ascii(name) ==
              upper_ascii(targets->columns[static_cast<std::size_t>(position)]))
            declared = type;
      }
      if (auto type = type_from_declaration(declared))
        types[i] = *type;
    }
    return types;
  }

  bool in_transaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

  sql_error error_from(int rc, std::string_view sql) {
    int extended = sqlite3_extended_errcode(db_.get());
    std::string message = sqlite3_errmsg(db_.get());
    std::string suffix = session_suffix(who_.session_id);
    switch (rc & 0xff) {
    case SQLITE_INTERRUPT:
      return {"R0003", "Execution of SQL statement aborted." + suffix};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      if (in_transaction()) // Exasol rolls the whole transaction back on a collision
        sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      return {"40001",
              "GlobalTransactionRollback msg: Transaction collision: automatic transaction "
              "rollback." +
                  suffix};
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_NOTNULL)
        return {"27001", "constraint violation - not null (" + message + ")" + suffix};
      if (extended == SQLITE_CONSTRAINT_FOREIGNKEY)
        return {"42X91", "constraint violation - foreign key (" + message + ")" + suffix};
      if (extended == SQLITE_CONSTRAINT_PRIMARYKEY || extended == SQLITE_CONSTRAINT_UNIQUE)
        return {"42X91", "constraint violation - primary key (" + message + ")" + suffix};
      return {"42X91", "constraint violation (" + message + ")" + suffix};
    case SQLITE_ERROR:
      return {"42000", exasol_wording(message) +
                           position_text(sql, sqlite3_error_offset(db_.get())) + suffix};
    default:
      return {"00000", message + suffix};
    }
  }

  sql_error empty_statement_error() const {
    return {"42000", "syntax error, empty SQL statement" + session_suffix(who_.session_id)};
  }
  sql_error one_statement_error() const {
    return {"42000", "syntax error, exasim runs one statement per execute (use executeBatch)" +
                         session_suffix(who_.session_id)};
  }

  std::optional<sql_error> exec(const char* sql, std::string_view shown) {
    int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK)
      return error_from(rc, shown);
    return std::nullopt;
  }

  // With autocommit off every statement runs inside a transaction, as in Exasol.
  std::optional<sql_error> begin_if_needed(const attribute_set& attributes) {
    if (attributes.autocommit() || in_transaction())
      return std::nullopt;
    return exec("BEGIN", "BEGIN");
  }

  void refresh_session_tables() {
    sqlite3_exec(db_.get(), "DELETE FROM temp.EXA_ALL_SESSIONS", nullptr, nullptr, nullptr);
    sqlite3_stmt* raw = nullptr;
    sqlite3_prepare_v2(db_.get(),
                       "INSERT INTO temp.EXA_ALL_SESSIONS (SESSION_ID, USER_NAME, STATUS, "
                       "COMMAND_NAME, STMT_ID, DURATION, QUERY_TIMEOUT, ACTIVITY, LOGIN_TIME, "
                       "CLIENT, DRIVER, ENCRYPTED, HOST, OS_USER, OS_NAME, SCOPE_SCHEMA, "
                       "CONSUMER_GROUP, NICE, RESOURCES) VALUES (?1, ?2, ?3, ?4, 0, '0:00:00', "
                       "?13, NULL, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'SYS_CONSUMER_GROUP', 0, "
                       "0)",
                       -1, &raw, nullptr);
    stmt_ptr insert(raw);
    if (!insert)
      return;
    auto text = [&](int index, const std::string& value) {
      sqlite3_bind_text(insert.get(), index, value.c_str(), static_cast<int>(value.size()),
                        SQLITE_TRANSIENT);
    };
    for (const auto& row : engine_.host().sessions()) {
      sqlite3_reset(insert.get());
      sqlite3_bind_int64(insert.get(), 1, static_cast<sqlite3_int64>(row.session_id));
      text(2, row.user_name);
      text(3, row.status);
      text(4, row.status == "IDLE" ? "NOT SPECIFIED" : "SELECT");
      text(5, timestamp_now(row.login_time));
      text(6, row.client);
      text(7, row.driver);
      sqlite3_bind_int(insert.get(), 8, row.encrypted ? 1 : 0);
      text(9, row.host);
      text(10, row.os_user);
      text(11, row.os_name);
      if (row.current_schema.empty())
        sqlite3_bind_null(insert.get(), 12);
      else
        text(12, row.current_schema);
      sqlite3_bind_int64(insert.get(), 13, static_cast<sqlite3_int64>(row.query_timeout));
      sqlite3_step(insert.get());
    }
  }

  execution fail(sql_error error) {
    execution out;
    out.error = std::move(error);
    return out;
  }

  execution row_count(std::int64_t n) {
    execution out;
    out.results.push_back(statement_result{std::nullopt, n});
    return out;
  }

  // The SQL SQLite runs for an Exasol statement: the session functions as literals.
  std::string sqlite_text(const std::string& exasol_sql) const {
    return substitute_session_functions(exasol_sql, who_.session_id, who_.user_name);
  }

  static bool mentions_session_view(const std::string& sql) {
    return std::any_of(std::begin(session_views), std::end(session_views),
                       [&](const char* view) { return mentions_word(sql, view); });
  }

  // Exactly one statement, prepared, or why not.
  struct prepared_one {
    stmt_ptr stmt;
    std::optional<sql_error> error;
  };
  prepared_one prepare_one(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &raw, &tail);
    prepared_one out{stmt_ptr(raw), std::nullopt};
    if (rc != SQLITE_OK)
      out.error = error_from(rc, sql);
    else if (!out.stmt)
      out.error = empty_statement_error();
    else if (!only_separators(tail))
      out.error = one_statement_error();
    return out;
  }

  execution run_sql(const std::string& exasol_sql, attribute_set& attributes) {
    if (auto error = begin_if_needed(attributes))
      return fail(*error);
    auto sql = sqlite_text(exasol_sql);
    if (mentions_session_view(sql))
      refresh_session_tables();
    auto one = prepare_one(sql);
    if (one.error)
      return fail(*one.error);
    return step_statement(one.stmt.get(), sql);
  }

  execution step_statement(sqlite3_stmt* stmt, std::string_view sql) {
    auto changes_before = sqlite3_total_changes64(db_.get());
    std::vector<std::vector<raw_value>> values;
    int rc = step_all(stmt, values);
    return outcome(stmt, sql, rc, values, changes_before);
  }

  // What a stepped statement answers: its error, its rows, or the rows it changed.
  execution outcome(sqlite3_stmt* stmt, std::string_view sql, int rc,
                    std::vector<std::vector<raw_value>>& values, std::int64_t changes_before) {
    if (rc != SQLITE_DONE)
      return fail(error_from(rc, sql));
    if (sqlite3_column_count(stmt) == 0)
      return row_count(sqlite3_total_changes64(db_.get()) - changes_before);
    execution out;
    out.results.push_back(statement_result{encode_rows(stmt, sql, values), 0});
    return out;
  }

  execution run_exasol_statement(const exasol_statement& s, attribute_set& attributes) {
    using kind = exasol_statement::kind;
    std::string suffix = session_suffix(who_.session_id);
    switch (s.what) {
    case kind::malformed:
      return fail({"42000", s.error + suffix});
    case kind::open_schema:
      if (!engine_.has_schema(s.name))
        return fail({"42000", "schema " + s.name + " not found" + suffix});
      attributes.set_current_schema(s.name);
      return row_count(0);
    case kind::close_schema:
      attributes.set_current_schema("");
      return row_count(0);
    case kind::create_schema:
      if (!engine_.create_schema(s.name) && !s.if_exists)
        return fail({"42000", "schema " + s.name + " already exists" + suffix});
      attributes.set_current_schema(s.name); // Exasol opens the new (or existing) schema
      return row_count(0);
    case kind::drop_schema:
      if (!engine_.drop_schema(s.name) && !s.if_exists)
        return fail({"42000", "schema " + s.name + " not found" + suffix});
      if (attributes.current_schema() == s.name)
        attributes.set_current_schema("");
      return row_count(0);
    case kind::kill_session: {
      auto id = s.current_session ? who_.session_id : s.session_id;
      if (!engine_.host().kill_session(id))
        return fail({"42000", "session " + std::to_string(id) + " not found" + suffix});
      return row_count(0);
    }
    case kind::kill_statement:
      if (!engine_.host().abort_statement(s.session_id))
        return fail({"42000", "session " + std::to_string(s.session_id) + " not found" + suffix});
      return row_count(0);
    case kind::alter_session:
      if (s.name == "QUERY_TIMEOUT") {
        char* end = nullptr;
        long long seconds = std::strtoll(s.value.c_str(), &end, 10);
        if (s.value.empty() || *end != '\0' || seconds < 0)
          return fail({"42000", "invalid value for QUERY_TIMEOUT: " + s.value + suffix});
        attributes.set_query_timeout_seconds(seconds);
      }
      return row_count(0); // other session options are accepted and have no effect
    case kind::commit:
    case kind::rollback:
      if (!in_transaction()) // Exasol accepts COMMIT/ROLLBACK with nothing to end
        return row_count(0);
      if (auto error = exec(s.what == kind::commit ? "COMMIT" : "ROLLBACK",
                            s.what == kind::commit ? "COMMIT" : "ROLLBACK"))
        return fail(*error);
      return row_count(0);
    case kind::other:
      break;
    }
    return fail({"00000", "internal error: unhandled statement" + suffix});
  }

  std::optional<sql_error> bind(sqlite3_stmt* stmt, int index, const boost::json::value& v) {
    int rc = SQLITE_OK;
    switch (v.kind()) {
    case boost::json::kind::null:
      rc = sqlite3_bind_null(stmt, index);
      break;
    case boost::json::kind::bool_:
      rc = sqlite3_bind_int(stmt, index, v.get_bool() ? 1 : 0);
      break;
    case boost::json::kind::int64:
      rc = sqlite3_bind_int64(stmt, index, v.get_int64());
      break;
    case boost::json::kind::uint64: {
      if (v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        rc = sqlite3_bind_int64(stmt, index, static_cast<sqlite3_int64>(v.get_uint64()));
      } else {
        std::string text = std::to_string(v.get_uint64());
        rc = sqlite3_bind_text(stmt, index, text.c_str(), static_cast<int>(text.size()),
                               SQLITE_TRANSIENT);
      }
      break;
    }
    case boost::json::kind::double_:
      rc = sqlite3_bind_double(stmt, index, v.get_double());
      break;
    case boost::json::kind::string:
      rc = sqlite3_bind_text(stmt, index, v.get_string().data(),
                             static_cast<int>(v.get_string().size()), SQLITE_TRANSIENT);
      break;
    default:
      return sql_error{"00000", "executePreparedStatement: parameter " + std::to_string(index) +
                                    " is an array or object; expected a scalar value"};
    }
    if (rc != SQLITE_OK)
      return error_from(rc, "");
    return std::nullopt;
  }

  execution run_prepared(std::int64_t handle, const boost::json::array& data, std::size_t num_rows,
                         attribute_set& attributes) {
    auto it = prepared_.find(handle);
    if (it == prepared_.end())
      return fail({"00000", "executePreparedStatement: statement handle " + std::to_string(handle) +
                                " is not open"});
    sqlite3_stmt* stmt = it->second.stmt.get();
    const std::string& sql = it->second.sql;
    auto parameters = static_cast<std::size_t>(sqlite3_bind_parameter_count(stmt));
    if (parameters > 0 && data.size() != parameters && num_rows > 0)
      return fail({"00000", "executePreparedStatement: data has " + std::to_string(data.size()) +
                                " columns, the statement has " + std::to_string(parameters) +
                                " parameters"});
    for (std::size_t c = 0; parameters > 0 && num_rows > 0 && c < parameters; ++c)
      if (!data[c].is_array() || data[c].get_array().size() < num_rows)
        return fail({"00000", "executePreparedStatement: data column " + std::to_string(c) +
                                  " is not an array of " + std::to_string(num_rows) + " rows"});
    if (auto error = begin_if_needed(attributes))
      return fail(*error);
    for (const char* view : session_views)
      if (mentions_word(sql, view)) {
        refresh_session_tables();
        break;
      }
    // Several rows in autocommit mode are one statement for Exasol: all or nothing.
    std::size_t executions = parameters == 0 ? 1 : num_rows;
    bool own_transaction = executions > 1 && !in_transaction();
    if (own_transaction)
      if (auto error = exec("BEGIN", "BEGIN"))
        return fail(*error);
    auto changes_before = sqlite3_total_changes64(db_.get());
    std::vector<std::vector<raw_value>> values;
    for (std::size_t row = 0; row < executions; ++row) {
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
      std::optional<sql_error> error;
      for (std::size_t c = 0; c < parameters && !error; ++c)
        error = bind(stmt, static_cast<int>(c + 1), data[c].get_array()[row]);
      int rc = error ? SQLITE_ERROR : step_all(stmt, values);
      if (!error && rc != SQLITE_DONE)
        error = error_from(rc, sql);
      if (error) {
        sqlite3_reset(stmt);
        if (own_transaction && in_transaction())
          sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        return fail(*error);
      }
    }
    sqlite3_reset(stmt);
    if (own_transaction)
      if (auto error = exec("COMMIT", "COMMIT"))
        return fail(*error);
    return outcome(stmt, sql, SQLITE_DONE, values, changes_before);
  }

  sqlite_engine& engine_;
  session_identity who_;
  db_ptr db_;
  std::map<std::int64_t, prepared> prepared_;
  std::int64_t next_handle_ = 1;
  // The quick path's rows before encoding, kept between queries so its columns keep their
  // capacity (growing them anew was ~2 % of exasim's work per 1,000-row query). The quick
  // path's step budget bounds what it holds.
  std::vector<std::vector<raw_value>> quick_values_;
};

} // namespace

sqlite_engine::sqlite_engine(std::string database_path, engine_host& host,
                             std::chrono::milliseconds lock_wait_timeout)
    : path_(std::move(database_path)), host_(host),
      busy_timeout_ms_(static_cast<int>(lock_wait_timeout.count())) {
  db_ptr db = open_database(path_, busy_timeout_ms_);
  exec_or_throw(db.get(), "PRAGMA journal_mode=WAL");
  exec_or_throw(db.get(), "PRAGMA synchronous=NORMAL");
}

std::unique_ptr<sync_session> sqlite_engine::open_session(const session_identity& who) {
  return std::make_unique<sqlite_session>(*this, who);
}

bool sqlite_engine::create_schema(const std::string& name) {
  std::lock_guard lock(schemas_mutex_);
  return schemas_.insert(name).second;
}

bool sqlite_engine::drop_schema(const std::string& name) {
  std::lock_guard lock(schemas_mutex_);
  return schemas_.erase(name) > 0;
}

bool sqlite_engine::has_schema(const std::string& name) const {
  std::lock_guard lock(schemas_mutex_);
  return schemas_.count(name) > 0;
}

} // namespace exasim
