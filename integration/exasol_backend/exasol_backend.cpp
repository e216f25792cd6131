// The real connection backend: one exasol::async_connection. Every call is a short chain of the
// client's asynchronous operations on its strand (an I/O thread of the exasol::io_threads it was
// made on), so no thread waits on the network; the synchronous calls wait for the asynchronous
// ones, for code outside an actor.
#include "actors/connection_actor.hpp"

#include "integration/exasol/async_connection.hpp"
#include "integration/exasol/errors.hpp"
#include "integration/exasol/io_threads.hpp"
#include "integration/exasol/protocol.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <string_view>

namespace exapool {

namespace {

// Attributes a borrower can change and setAttributes can put back.
constexpr std::array<std::string_view, 7> restorable = {
    "autocommit",       "queryTimeout",        "numericCharacters",
    "feedbackInterval", "timestampUtcEnabled", "snapshotTransactionsEnabled",
    "resultSetMaxRows"};
// Attributes only SQL changes (ALTER SESSION) and setAttributes cannot put back.
constexpr std::array<std::string_view, 6> fixed = {"dateFormat",   "datetimeFormat",
                                                   "dateLanguage", "defaultLikeEscapeCharacter",
                                                   "timezone",     "timeZoneBehavior"};

// Attributes a proxied client's session sets (proxy_request::wanted); the others stay the
// proxy front's own (compressionEnabled, feedbackInterval) or are read-only.
constexpr std::array<std::string_view, 6> proxied = {
    "autocommit",          "queryTimeout",    "numericCharacters", "snapshotTransactionsEnabled",
    "timestampUtcEnabled", "resultSetMaxRows"};

// A server error's text without the "[code] " the client puts in front of it.
std::string server_text(const exasol::error& e) {
  std::string text = e.what();
  std::string prefix = "[" + e.sql_code() + "] ";
  if (text.compare(0, prefix.size(), prefix) == 0)
    text.erase(0, prefix.size());
  return text;
}

std::string schema_of(const exasol::attributes& attrs) {
  auto i = attrs.find("currentSchema");
  if (i == attrs.end() || !std::holds_alternative<std::string>(i->second))
    return {};
  return std::get<std::string>(i->second);
}

// True when `now` has the baseline's value for `name` (absent on either side counts as equal:
// the client only learns what the server reports).
bool same(const exasol::attributes& baseline, const exasol::attributes& now,
          std::string_view name) {
  auto b = baseline.find(std::string(name));
  auto n = now.find(std::string(name));
  if (b == baseline.end() || n == now.end())
    return true;
  return b->second == n->second;
}

// True when `now` has another schema than the baseline, or another value of an attribute a
// reset restores or cannot restore.
bool differ(const exasol::attributes& baseline, const exasol::attributes& now) {
  if (schema_of(now) != schema_of(baseline))
    return true;
  auto changed = [&](std::string_view name) { return !same(baseline, now, name); };
  return std::any_of(std::begin(restorable), std::end(restorable), changed) ||
         std::any_of(std::begin(fixed), std::end(fixed), changed);
}

// The client has no CAF inside: its options are std::optional.
template <class T> std::optional<T> std_optional(const caf::optional<T>& x) {
  return x ? std::optional<T>(*x) : std::nullopt;
}

} // namespace

exasol::connection_options connection_options_of(const credentials& c) {
  exasol::connection_options o;
  o.dsn = c.dsn;
  o.user = c.user;
  o.password = c.password.value;
  o.access_token = c.access_token.value;
  o.refresh_token = c.refresh_token.value;
  o.tls = c.tls;
  o.insecure = c.insecure;
  o.ca_file = c.ca_file;
  o.compression = c.compression;
  o.protocol_version = c.protocol_version;
  o.schema = c.schema;
  o.autocommit = c.autocommit;
  o.server_query_timeout_s = c.server_query_timeout_s;
  o.snapshot_transactions = std_optional(c.snapshot_transactions);
  o.timestamp_utc = std_optional(c.timestamp_utc);
  o.numeric_characters = std_optional(c.numeric_characters);
  o.feedback_interval_s = std_optional(c.feedback_interval_s);
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  o.connect_timeout = duration_cast<milliseconds>(c.connect_timeout);
  o.login_timeout = duration_cast<milliseconds>(c.login_timeout);
  o.socket_timeout = duration_cast<milliseconds>(c.socket_timeout);
  o.query_timeout = duration_cast<milliseconds>(c.query_timeout);
  o.identity.client_name = c.client_name;
  o.max_result_rows = c.max_result_rows;
  o.max_result_bytes = c.max_result_bytes;
  return o;
}

namespace {

using steady = std::chrono::steady_clock;

// The client's own time limit for one statement; zero when it has none.
std::chrono::milliseconds query_limit(const credentials& creds) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(creds.query_timeout);
}

std::exception_ptr failure(exasol::error_kind kind, const std::string& text) {
  return std::make_exception_ptr(exasol::error(kind, text));
}

std::exception_ptr not_open() {
  return failure(exasol::error_kind::broken, "connection is not open");
}

// What run() needs of the statements it prepared: execute sends the parameter columns back,
// and the SQL tells the session change.
struct prepared_info {
  std::string parameter_columns_json;
  std::string sql;
};

// The backend's mutable state. The backend holds it and so does every handler still pending,
// so the backend may be destroyed while an operation runs on the I/O thread.
//
// Threads: the start_* calls come from the owner's thread, one at a time; an operation's stages
// run in the client's handlers (its strand, an I/O thread) and end in complete(), which clears
// `running` before it calls the owner's completion. The owner hears of that completion by a
// message or a future, which orders memory, before it reads the state or starts the next call.
// Only two members cross threads at any time: `running` (atomic) and `conn`, which
// abort_running() and the destructor read with std::atomic_load while start_open may set it.
// `closed` and `dropped` are the owner's alone: after a close, is_open() no longer asks the
// client (whose close runs on its strand), and after a dropped socket is_dirty() no longer
// reads the state that the operation still running may change.
class core : public std::enable_shared_from_this<core> {
public:
  core(credentials c, boost::asio::any_io_executor e) : creds(std::move(c)), ex(std::move(e)) {}

  void start_open(backend_done<std::uint64_t> done);
  void start_execute(std::string sql, backend_done<query_result> done);
  void start_run(proxy_request request, backend_done<proxy_outcome> done);
  void start_begin(backend_done<bool> done);
  void start_validate(backend_done<bool> done);
  void start_reset(backend_done<bool> done);
  void start_close(backend_done<bool> done);

  bool is_open() const { return !closed && opened && conn->is_open(); }
  bool is_dirty() const;
  void set_baseline(exasol::attributes attrs) {
    baseline = std::move(attrs);
    compared_version.reset();
  }

  // The end of every operation that started: `running` off, then the owner's completion.
  template <class T> void complete(const backend_done<T>& done, std::exception_ptr e, T value) {
    running = false;
    done(std::move(e), std::move(value));
  }
  const exasol::protocol::session_state& state() const { return conn->state(); }
  // The worst change wins until a reset: one that no reset can undo closes the connection.
  void note_session_change(session_change change) { changed = std::max(changed, change); }
  std::exception_ptr statement_failure(std::exception_ptr e, steady::time_point started) const;

  const credentials creds;
  const boost::asio::any_io_executor ex;
  std::shared_ptr<exasol::async_connection> conn; // made by open, then kept until the end
  bool opened = false;                            // connected and logged in
  bool closed = false, dropped = false;           // see above
  std::atomic<bool> running{false};               // an operation has started and not completed
  exasol::attributes baseline; // set_baseline() only: it forgets the last comparison
  session_change changed = session_change::none;
  std::map<std::int64_t, prepared_info> prepared;

private:
  bool attributes_differ() const;
  // The last comparison of the attributes with the baseline, and the attrs_version it saw.
  mutable std::optional<std::uint64_t> compared_version;
  mutable bool compared_differ = false;

  void on_open(std::exception_ptr e, const backend_done<std::uint64_t>& done);
  void drop(const backend_done<bool>& done);
  bool aborted_by_client(const exasol::error& e, steady::duration took) const;
};

// ------------------------------------------------------------------ open

// After the login: the configured attributes the login did not set, then the init SQL, then a
// COMMIT if they left a transaction, then the attributes read back as the baseline that every
// reset restores. A failure closes the session and fails the open.
class init_op : public std::enable_shared_from_this<init_op> {
public:
  init_op(std::shared_ptr<core> c, backend_done<std::uint64_t> done)
      : c_(std::move(c)), done_(std::move(done)) {}
  void start();

private:
  void do_init(std::size_t i);
  void do_commit();
  void do_read_baseline();
  std::exception_ptr init_failure(std::size_t i, std::exception_ptr e) const;
  void fail(std::exception_ptr e);

  std::shared_ptr<core> c_;
  backend_done<std::uint64_t> done_;
};

// Connect and log in, then set up the session (init_op): its attributes read at the end are
// the baseline that reset restores.
void core::start_open(backend_done<std::uint64_t> done) {
  if (opened)
    return done(failure(exasol::error_kind::config, "a pooled connection is opened only once"), 0);
  std::shared_ptr<exasol::async_connection> made;
  try {
    made = std::make_shared<exasol::async_connection>(ex, connection_options_of(creds));
  } catch (...) {
    return done(std::current_exception(), 0);
  }
  std::atomic_store(&conn, made);
  running = true;
  conn->async_open(
      [self = shared_from_this(), done](std::exception_ptr e) { self->on_open(e, done); });
}

void core::on_open(std::exception_ptr e, const backend_done<std::uint64_t>& done) {
  if (e)
    return complete(done, e, std::uint64_t{0});
  opened = true;
  std::make_shared<init_op>(shared_from_this(), done)->start();
}

// The attributes the credentials configure; those left unset are the server's to choose.
exasol::attributes configured_attributes(const credentials& creds) {
  exasol::attributes configured{{"autocommit", creds.autocommit},
                                {"queryTimeout", std::int64_t(creds.server_query_timeout_s)}};
  if (!creds.schema.empty()) // setAttributes opens a schema; none configured: none opened
    configured["currentSchema"] = creds.schema;
  if (creds.snapshot_transactions)
    configured["snapshotTransactionsEnabled"] = *creds.snapshot_transactions;
  if (creds.timestamp_utc)
    configured["timestampUtcEnabled"] = *creds.timestamp_utc;
  if (creds.numeric_characters)
    configured["numericCharacters"] = *creds.numeric_characters;
  if (creds.feedback_interval_s)
    configured["feedbackInterval"] = std::int64_t(*creds.feedback_interval_s);
  if (creds.result_set_max_rows) // not sent at login: see connection_options
    configured["resultSetMaxRows"] = static_cast<std::int64_t>(*creds.result_set_max_rows);
  return configured;
}

// The configured attributes the session does not have yet (none when the server applied the
// login's): the login sends them, but a session that misses one must not start the baseline.
exasol::attributes missing_configured(const credentials& creds, const exasol::attributes& now) {
  auto configured = configured_attributes(creds);
  exasol::attributes missing;
  for (auto& [name, value] : configured)
    if (auto n = now.find(name); n == now.end() || !(n->second == value))
      missing[name] = value;
  return missing;
}

// resultSetMaxRows came with protocol v2: a server that chose v1 cannot limit the rows, and
// a pool that was asked to must not run without the limit.
std::exception_ptr unsupported_attributes(const credentials& creds,
                                          const exasol::session_info& session) {
  if (!creds.result_set_max_rows || session.protocol_version >= 2)
    return nullptr;
  return failure(exasol::error_kind::config,
                 "resultSetMaxRows needs protocol version 2 or later; the server uses version " +
                     std::to_string(session.protocol_version));
}

void init_op::start() {
  if (auto e = unsupported_attributes(c_->creds, c_->state().info))
    return fail(e);
  auto missing = missing_configured(c_->creds, c_->state().attrs);
  if (missing.empty())
    return do_init(0);
  c_->conn->async_set_attributes(std::move(missing),
                                 [self = shared_from_this()](std::exception_ptr e) {
                                   if (e)
                                     return self->fail(e);
                                   self->do_init(0);
                                 });
}

// The init statements one after the other. They are the pool's own, so they leave no session
// change for reset to undo: what they set is the baseline read at the end.
void init_op::do_init(std::size_t i) {
  const auto& statements = c_->creds.init_sql;
  if (i == statements.size())
    return do_commit();
  c_->conn->async_execute(statements[i], [self = shared_from_this(),
                                          i](std::exception_ptr e, std::vector<exasol::result>) {
    if (e)
      return self->fail(self->init_failure(i, e));
    self->do_init(i + 1);
  });
}

// With autocommit off the init statements' work is committed, so that it counts and the
// connection starts with no transaction (a rollback on the first return would undo it).
void init_op::do_commit() {
  if (!c_->state().transaction_may_be_open())
    return do_read_baseline();
  c_->conn->async_execute(
      "COMMIT", [self = shared_from_this()](std::exception_ptr e, std::vector<exasol::result>) {
        if (e)
          return self->fail(e);
        self->do_read_baseline();
      });
}

void init_op::do_read_baseline() {
  c_->conn->async_get_attributes(
      [self = shared_from_this()](std::exception_ptr e, exasol::attributes attrs) {
        if (e)
          return self->fail(e);
        self->c_->set_baseline(std::move(attrs));
        self->c_->complete(self->done_, nullptr, self->c_->state().info.session_id);
      });
}

// Names the statement by its position, never by its text (long, or holding a secret), and
// keeps the server's code and message and the failure's kind.
std::exception_ptr init_op::init_failure(std::size_t i, std::exception_ptr e) const {
  auto position = "init SQL statement " + std::to_string(i + 1) + " of " +
                  std::to_string(c_->creds.init_sql.size()) + " failed: ";
  try {
    std::rethrow_exception(e);
  } catch (const exasol::error& x) {
    return std::make_exception_ptr(exasol::error(x.kind(), position + x.what(), x.sql_code()));
  } catch (const std::exception& x) {
    return failure(exasol::error_kind::protocol, position + x.what());
  }
}

// A session that did not get its whole setup never reaches the pool: it says goodbye (the
// server ends it) and closes its socket before the open fails.
// `opened` goes back to false here, on the I/O thread, as on_open set it: the owner reads it
// only after the completion (`closed` is the owner's own, see core).
void init_op::fail(std::exception_ptr e) {
  c_->opened = false;
  c_->conn->async_disconnect([self = shared_from_this(), e](std::exception_ptr) {
    self->c_->conn->close();
    self->c_->complete(self->done_, e, std::uint64_t{0});
  });
}

// ------------------------------------------------------------------ execute, begin, validate

void core::start_execute(std::string sql, backend_done<query_result> done) {
  if (!opened)
    return done(not_open(), {});
  note_session_change(session_change_of(sql));
  running = true;
  conn->async_execute(std::move(sql), [self = shared_from_this(), done, started = steady::now()](
                                          std::exception_ptr e, std::vector<exasol::result> r) {
    query_result out;
    if (e)
      return self->complete(done, self->statement_failure(e, started), std::move(out));
    out.results = std::move(r);
    self->complete(done, nullptr, std::move(out));
  });
}

// Exasol has no BEGIN: autocommit goes off.
void core::start_begin(backend_done<bool> done) {
  if (!opened)
    return done(not_open(), false);
  running = true;
  conn->async_set_attributes(
      exasol::attributes{{"autocommit", false}},
      [self = shared_from_this(), done](std::exception_ptr e) { self->complete(done, e, !e); });
}

// SELECT 1 answered with a result set; any failure is a false.
void core::start_validate(backend_done<bool> done) {
  if (!is_open())
    return done(nullptr, false);
  running = true;
  conn->async_execute("SELECT 1", [self = shared_from_this(), done](std::exception_ptr e,
                                                                    std::vector<exasol::result> r) {
    self->complete(done, nullptr, !e && !r.empty() && r.front().is_result_set());
  });
}

// ------------------------------------------------------------------ run

// One request of a proxied client: the proxied attributes of request.wanted that differ from
// the session's (maybe CLOSE SCHEMA, then maybe one setAttributes), then the request itself.
// A server error on a session still open becomes the outcome's sql_code and text; every other
// failure fails the call, as execute's do.
class run_op : public std::enable_shared_from_this<run_op> {
public:
  run_op(std::shared_ptr<core> c, proxy_request request, backend_done<proxy_outcome> done)
      : c_(std::move(c)), request_(std::move(request)), done_(std::move(done)) {}
  void start();

private:
  void do_close_schema();
  void do_set_wanted(const std::string& schema);
  void do_perform();
  std::exception_ptr check() const;
  void on_results(std::exception_ptr e, std::vector<exasol::result> results);
  void on_prepared(std::exception_ptr e, exasol::prepared_statement statement);
  void finish(std::exception_ptr e);
  bool as_outcome(const std::exception_ptr& e);

  std::shared_ptr<core> c_;
  proxy_request request_;
  backend_done<proxy_outcome> done_;
  proxy_outcome out_;
  steady::time_point started_ = steady::now();
};

// A schema is opened by setAttributes and closed by CLOSE SCHEMA (setAttributes cannot close
// one), before the other attributes so that it runs under the autocommit the session had.
void run_op::start() {
  std::string schema; // to open by setAttributes; empty: none
  if (auto w = request_.wanted.find("currentSchema"); w != request_.wanted.end()) {
    std::string wanted =
        std::holds_alternative<std::string>(w->second) ? std::get<std::string>(w->second) : "";
    if (wanted != schema_of(c_->state().attrs)) {
      if (wanted.empty())
        return do_close_schema();
      schema = wanted;
    }
  }
  do_set_wanted(schema);
}

void run_op::do_close_schema() {
  c_->conn->async_execute("CLOSE SCHEMA", [self = shared_from_this()](std::exception_ptr e,
                                                                      std::vector<exasol::result>) {
    if (e)
      return self->finish(e);
    self->do_set_wanted({});
  });
}

// One setAttributes for every proxied attribute that differs now (none when nothing does).
void run_op::do_set_wanted(const std::string& schema) {
  const auto& now = c_->state().attrs;
  exasol::attributes diff;
  if (!schema.empty())
    diff["currentSchema"] = schema;
  for (auto name : proxied) {
    auto w = request_.wanted.find(std::string(name));
    if (w == request_.wanted.end())
      continue;
    auto n = now.find(std::string(name));
    if (n == now.end() || !(n->second == w->second))
      diff[std::string(name)] = w->second;
  }
  if (diff.empty())
    return do_perform();
  c_->conn->async_set_attributes(std::move(diff),
                                 [self = shared_from_this()](std::exception_ptr e) {
                                   if (e)
                                     return self->finish(e);
                                   self->do_perform();
                                 });
}

// The request itself, after the attributes.
void run_op::do_perform() {
  if (auto e = check())
    return finish(e);
  using kind = proxy_request::kind;
  auto self = shared_from_this();
  auto on_results = [self](std::exception_ptr e, std::vector<exasol::result> r) {
    self->on_results(e, std::move(r));
  };
  auto& conn = *c_->conn;
  switch (request_.type) {
  case kind::execute:
    out_.change = session_change_of(request_.sql.front());
    c_->note_session_change(out_.change);
    return conn.async_execute(request_.sql.front(), on_results);
  case kind::batch:
    for (const auto& sql : request_.sql)
      out_.change = std::max(out_.change, session_change_of(sql));
    c_->note_session_change(out_.change);
    return conn.async_execute_batch(request_.sql, on_results);
  case kind::prepare:
    return conn.async_prepare(request_.sql.front(),
                              [self](std::exception_ptr e, exasol::prepared_statement s) {
                                self->on_prepared(e, std::move(s));
                              });
  case kind::execute_prepared: {
    const auto& p = c_->prepared.at(request_.handle); // check() found it
    out_.change = session_change_of(p.sql);
    c_->note_session_change(out_.change);
    return conn.async_execute_prepared_raw(request_.handle, p.parameter_columns_json,
                                           std::move(request_.data_json), request_.num_rows,
                                           on_results);
  }
  case kind::close_prepared:
    c_->prepared.erase(request_.handle);
    if (request_.handle <= 0)
      return finish(nullptr); // no statement: nothing to send (as the client's close_prepared)
    return conn.async_close_prepared(request_.handle,
                                     [self](std::exception_ptr e) { self->finish(e); });
  case kind::set_attributes:
    return finish(nullptr); // applied already
  }
}

// The request's own mistakes, found before anything of it is sent.
std::exception_ptr run_op::check() const {
  using kind = proxy_request::kind;
  switch (request_.type) {
  case kind::execute:
  case kind::prepare:
    if (request_.sql.size() != 1)
      return failure(exasol::error_kind::config,
                     "a proxy request of this kind takes one SQL text, not " +
                         std::to_string(request_.sql.size()));
    return nullptr;
  case kind::execute_prepared:
    if (c_->prepared.count(request_.handle) == 0)
      return failure(exasol::error_kind::config, "prepared statement " +
                                                     std::to_string(request_.handle) +
                                                     " is not open on this connection");
    return nullptr;
  case kind::batch:
  case kind::close_prepared:
  case kind::set_attributes:
    return nullptr;
  }
  return failure(exasol::error_kind::config, "unknown proxy request kind");
}

void run_op::on_results(std::exception_ptr e, std::vector<exasol::result> results) {
  if (!e)
    out_.results = std::move(results);
  finish(e);
}

void run_op::on_prepared(std::exception_ptr e, exasol::prepared_statement statement) {
  if (e)
    return finish(e);
  out_.handle = statement.handle;
  out_.parameter_columns_json = statement.parameter_columns_json;
  out_.result_columns_json = statement.result_columns_json;
  out_.results = std::move(statement.results);
  c_->prepared[statement.handle] = {std::move(statement.parameter_columns_json),
                                    request_.sql.front()};
  finish(nullptr);
}

void run_op::finish(std::exception_ptr e) {
  if (e && !as_outcome(e))
    return c_->complete(done_, c_->statement_failure(e, started_), proxy_outcome{});
  const auto& s = c_->state();
  out_.after = s.attrs;
  out_.transaction_open = s.transaction_may_be_open();
  out_.open_prepared = s.open_statements.size();
  c_->complete(done_, nullptr, std::move(out_));
}

// True when `e` is a server error on a session still open: the outcome then carries it.
bool run_op::as_outcome(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const exasol::error& x) {
    if (x.kind() != exasol::error_kind::server || !c_->conn->is_open())
      return false;
    out_.results.clear();
    out_.handle = 0;
    out_.parameter_columns_json.clear();
    out_.result_columns_json.clear();
    out_.sql_code = x.sql_code();
    out_.text = server_text(x);
    return true;
  } catch (...) {
    return false;
  }
}

void core::start_run(proxy_request request, backend_done<proxy_outcome> done) {
  if (!opened)
    return done(not_open(), {});
  running = true;
  std::make_shared<run_op>(shared_from_this(), std::move(request), std::move(done))->start();
}

// ------------------------------------------------------------------ reset

// Back to the baseline: ROLLBACK if a transaction may be open, close the leftover result sets
// and prepared statements, read the attributes, then CLOSE SCHEMA and one setAttributes as
// they differ. Completes true when the session is clean afterwards; any failure is a false.
class reset_op : public std::enable_shared_from_this<reset_op> {
public:
  reset_op(std::shared_ptr<core> c, backend_done<bool> done)
      : c_(std::move(c)), done_(std::move(done)) {}
  void start();

private:
  void do_rollback();
  void do_close_leftovers();
  void do_read_attributes();
  void on_attributes();
  void do_close_schema();
  void do_set_attributes(const std::string& schema);
  void on_restored();
  void finish(bool clean) { c_->complete(done_, nullptr, clean); }

  std::shared_ptr<core> c_;
  backend_done<bool> done_;
};

void reset_op::start() {
  if (c_->changed == session_change::lasting)
    return finish(false); // IMPERSONATE or an unreported session parameter: only closing undoes it
  if (c_->state().transaction_may_be_open())
    return do_rollback();
  do_close_leftovers();
}

void reset_op::do_rollback() {
  c_->conn->async_execute(
      "ROLLBACK", [self = shared_from_this()](std::exception_ptr e, std::vector<exasol::result>) {
        if (e)
          return self->finish(false);
        self->do_close_leftovers();
      });
}

void reset_op::do_close_leftovers() {
  const auto& s = c_->state();
  if (s.open_statements.empty() && s.open_handles.empty())
    return do_read_attributes();
  c_->conn->async_close_leftovers([self = shared_from_this()](std::exception_ptr e) {
    if (e)
      return self->finish(false);
    self->do_read_attributes();
  });
}

void reset_op::do_read_attributes() {
  c_->prepared.clear(); // none is open any more
  c_->conn->async_get_attributes(
      [self = shared_from_this()](std::exception_ptr e, exasol::attributes) {
        if (e)
          return self->finish(false);
        self->on_attributes();
      });
}

// The attributes only SQL can set back must be as at login; the schema comes back first.
void reset_op::on_attributes() {
  const auto& now = c_->state().attrs;
  for (auto name : fixed)
    if (!same(c_->baseline, now, name))
      return finish(false);
  auto schema_now = schema_of(now), schema_then = schema_of(c_->baseline);
  if (schema_now == schema_then)
    return do_set_attributes({});
  if (schema_then.empty())
    return do_close_schema(); // setAttributes can open a schema, not close one
  do_set_attributes(schema_then);
}

void reset_op::do_close_schema() {
  c_->conn->async_execute("CLOSE SCHEMA", [self = shared_from_this()](std::exception_ptr e,
                                                                      std::vector<exasol::result>) {
    if (e)
      return self->finish(false);
    self->do_set_attributes({});
  });
}

// One setAttributes for the schema to open and every restorable attribute that differs now.
void reset_op::do_set_attributes(const std::string& schema) {
  const auto& now = c_->state().attrs;
  const auto& baseline = c_->baseline;
  exasol::attributes wanted;
  if (!schema.empty())
    wanted["currentSchema"] = schema;
  for (auto name : restorable)
    if (!same(baseline, now, name))
      wanted[std::string(name)] = baseline.at(std::string(name));
  if (wanted.empty())
    return on_restored();
  c_->conn->async_set_attributes(std::move(wanted),
                                 [self = shared_from_this()](std::exception_ptr e) {
                                   if (e)
                                     return self->finish(false);
                                   self->on_restored();
                                 });
}

void reset_op::on_restored() {
  c_->changed = session_change::none; // the attributes were read and compared just now
  finish(!c_->is_dirty());
}

void core::start_reset(backend_done<bool> done) {
  if (!is_open())
    return done(nullptr, false);
  running = true;
  std::make_shared<reset_op>(shared_from_this(), std::move(done))->start();
}

// ------------------------------------------------------------------ close

// With nothing running: a proper disconnect (a failure closes the socket too, and the server
// drops the session), then the socket is closed. Completes only once the socket is closed, so
// an owner that waits for it (the connection actor, before it goes down and frees its pool
// slot) never outlives its session. The client bounds the goodbye: its write and its reply each
// get socket_timeout (exchange_deadline in async_connection.cpp), the close frame a second at
// most, and every failure closes the socket; so with socket_timeout > 0 this completes within
// 2 * socket_timeout + 1 s even against a server that stalls.
void core::start_close(backend_done<bool> done) {
  if (running)
    return drop(done);
  if (!opened) {
    if (!conn) // never opened: no socket
      return done(nullptr, true);
    return drop(done); // an open that failed may leave a socket behind
  }
  closed = true;
  if (!conn->is_open())
    return conn->close([done](std::exception_ptr) { done(nullptr, true); });
  running = true;
  conn->async_disconnect([self = shared_from_this(), done](std::exception_ptr) {
    self->conn->close(); // closed already on every path of the goodbye
    self->complete(done, nullptr, true);
  });
}

// Another call still runs (its owner ends mid-statement): the socket goes now, the call fails
// on the I/O thread, and the server ends the session. Completes on the I/O thread once the
// socket is closed (close() only posts it to the client's strand).
void core::drop(const backend_done<bool>& done) {
  closed = dropped = true;
  auto c = std::atomic_load(&conn);
  if (!c)
    return done(nullptr, true);
  c->close([done](std::exception_ptr) { done(nullptr, true); });
}

// ------------------------------------------------------------------ state

bool core::is_dirty() const {
  if (dropped || !opened)
    return false;
  if (changed != session_change::none)
    return true;
  const auto& s = state();
  if (s.transaction_may_be_open() || !s.open_statements.empty() || !s.open_handles.empty())
    return true;
  return attributes_differ();
}

// is_dirty runs twice per statement, and the attributes change only when the server reports a
// new value: the comparison with the baseline is kept until the version or the baseline moves.
bool core::attributes_differ() const {
  const auto& s = state();
  if (compared_version && *compared_version == s.attrs_version)
    return compared_differ;
  compared_differ = differ(baseline, s.attrs);
  compared_version = s.attrs_version;
  return compared_differ;
}

// The failure of a statement started at `started`, as the caller gets it: a time limit the
// client enforced becomes statement_aborted_error.
std::exception_ptr core::statement_failure(std::exception_ptr e, steady::time_point started) const {
  try {
    std::rethrow_exception(e);
  } catch (const exasol::error& x) {
    if (aborted_by_client(x, steady::now() - started))
      return std::make_exception_ptr(statement_aborted_error(x.kind(), x.what(), x.sql_code()));
  } catch (...) {
  }
  return e;
}

// The client gave up on the statement: at its query timeout, or when the server did not
// confirm an abortQuery (abort_running, or the timeout's) within the abort's grace. The
// statement's limit passed or it was aborted, which is no lost connection even when the
// client had to drop the connection.
bool core::aborted_by_client(const exasol::error& e, steady::duration took) const {
  if (e.kind() != exasol::error_kind::timeout)
    return false;
  auto limit = query_limit(creds);
  return (limit.count() > 0 && took >= limit) ||
         std::string_view(e.what()).find("abortQuery") != std::string_view::npos;
}

// ------------------------------------------------------------------ the backend

// The backend the connection actor drives: every call is a short chain of the client's
// asynchronous operations, on the client's strand; see core for the threads. The synchronous
// calls wait for the asynchronous ones (wait), for code outside an actor; never call them
// on an I/O thread.
class exasol_backend final : public connection_backend {
public:
  exasol_backend(credentials creds, boost::asio::any_io_executor ex)
      : core_(std::make_shared<core>(std::move(creds), std::move(ex))) {}
  // Drops the socket like the blocking client did; an operation still pending then fails on
  // the I/O thread and its handler lets go of the core.
  ~exasol_backend() override {
    if (auto c = std::atomic_load(&core_->conn))
      c->close();
  }

  // The connection actor drives the start_* calls: it needs no thread of its own.
  bool blocks() const override { return false; }

  std::uint64_t open() override {
    return wait<std::uint64_t>([&](auto done) { start_open(std::move(done)); });
  }
  query_result execute(const std::string& sql) override {
    return wait<query_result>([&](auto done) { start_execute(sql, std::move(done)); });
  }
  proxy_outcome run(const proxy_request& request) override {
    return wait<proxy_outcome>([&](auto done) { start_run(request, std::move(done)); });
  }
  void begin() override {
    wait<bool>([&](auto done) { start_begin(std::move(done)); });
  }
  bool validate() override {
    try {
      return wait<bool>([&](auto done) { start_validate(std::move(done)); });
    } catch (...) {
      return false;
    }
  }
  bool reset() override {
    try {
      return wait<bool>([&](auto done) { start_reset(std::move(done)); });
    } catch (...) {
      return false;
    }
  }
  void close() override {
    try {
      wait<bool>([&](auto done) { start_close(std::move(done)); });
    } catch (...) {
      // never throws: the socket is closed either way
    }
  }

  bool is_dirty() const override { return core_->is_dirty(); }
  bool is_open() const override { return core_->is_open(); }

  void start_open(backend_done<std::uint64_t> done) override { core_->start_open(std::move(done)); }
  void start_execute(std::string sql, backend_done<query_result> done) override {
    core_->start_execute(std::move(sql), std::move(done));
  }
  void start_run(proxy_request request, backend_done<proxy_outcome> done) override {
    core_->start_run(std::move(request), std::move(done));
  }
  void start_begin(backend_done<bool> done) override { core_->start_begin(std::move(done)); }
  void start_validate(backend_done<bool> done) override { core_->start_validate(std::move(done)); }
  void start_reset(backend_done<bool> done) override { core_->start_reset(std::move(done)); }
  void start_close(backend_done<bool> done) override { core_->start_close(std::move(done)); }

  void abort_running() noexcept override {
    if (auto c = std::atomic_load(&core_->conn))
      c->abort_query();
  }

private:
  // Starts an asynchronous call and waits on the caller's thread until it completed: its value,
  // or its failure rethrown. The completion runs on an I/O thread, so never call this on one.
  template <class T, class Start> T wait(Start start) {
    auto io = core_->ex.target<boost::asio::io_context::executor_type>();
    assert((io == nullptr || !io->running_in_this_thread()) &&
           "a synchronous call on an I/O thread");
    (void)io;
    auto promise = std::make_shared<std::promise<T>>();
    auto result = promise->get_future();
    start(backend_done<T>([promise](std::exception_ptr e, T value) {
      if (e)
        promise->set_exception(e);
      else
        promise->set_value(std::move(value));
    }));
    return result.get();
  }

  std::shared_ptr<core> core_;
};

} // namespace

std::unique_ptr<connection_backend> make_exasol_backend(const credentials& creds,
                                                        exasol::io_threads& io) {
  return std::make_unique<exasol_backend>(creds, io.executor());
}

std::unique_ptr<connection_backend> make_exasol_backend(const credentials& creds) {
  return make_exasol_backend(creds, exasol::shared_io_threads());
}

} // namespace exapool
