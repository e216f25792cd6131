// The real connection backend: one exasol::connection. Its calls block on the network, so the
// connection actor over it runs detached (a thread of its own).
#include "actors/connection_actor.hpp"

#include "integration/exasol/connection.hpp"
#include "integration/exasol/errors.hpp"
#include "integration/exasol/io_threads.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
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

// The client's own time limit for one statement; zero when it has none.
std::chrono::milliseconds query_limit(const credentials& creds) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(creds.query_timeout);
}

// conn_ is written once, by open() on the connection actor's thread, and then only read until
// the backend is destroyed: abort_running() on another thread (which heard that open()
// returned, see connection_backend) reads the pointer and calls the client's thread-safe
// abort_query(). close() disconnects but keeps the client object, so an abort that races
// with the end of the connection finds a closed client (a no-op), never freed memory.
class exasol_backend final : public connection_backend {
public:
  explicit exasol_backend(credentials creds) : creds_(std::move(creds)) {}

  bool blocks() const override { return true; }

  std::uint64_t open() override {
    if (conn_)
      throw exasol::error(exasol::error_kind::config, "a pooled connection is opened only once");
    conn_ = std::make_unique<exasol::connection>(connection_options_of(creds_));
    baseline_ = conn_->get_attributes();
    return conn_->session().session_id;
  }

  query_result execute(const std::string& sql) override {
    if (!conn_)
      throw exasol::error(exasol::error_kind::broken, "connection is not open");
    note_session_change(session_change_of(sql));
    auto started = std::chrono::steady_clock::now();
    query_result out;
    try {
      out.results = conn_->execute(sql);
    } catch (const exasol::error& e) {
      if (aborted_by_client(e, std::chrono::steady_clock::now() - started))
        throw statement_aborted_error(e.kind(), e.what(), e.sql_code());
      throw;
    }
    return out;
  }

  // Server errors (kind server, the session still open) become the outcome's sql_code and
  // text; everything else throws as execute does.
  proxy_outcome run(const proxy_request& request) override {
    if (!conn_)
      throw exasol::error(exasol::error_kind::broken, "connection is not open");
    proxy_outcome out;
    auto started = std::chrono::steady_clock::now();
    try {
      apply_wanted(request.wanted);
      perform(request, out);
    } catch (const exasol::error& e) {
      if (e.kind() != exasol::error_kind::server || !conn_->is_open()) {
        if (aborted_by_client(e, std::chrono::steady_clock::now() - started))
          throw statement_aborted_error(e.kind(), e.what(), e.sql_code());
        throw;
      }
      out.results.clear();
      out.handle = 0;
      out.parameter_columns_json.clear();
      out.result_columns_json.clear();
      out.sql_code = e.sql_code();
      out.text = server_text(e);
    }
    out.after = conn_->attributes();
    out.transaction_open = conn_->transaction_may_be_open();
    out.open_prepared = conn_->open_prepared_statements();
    return out;
  }

  void abort_running() noexcept override {
    if (conn_)
      conn_->abort_query();
  }

  void begin() override {
    if (!conn_)
      throw exasol::error(exasol::error_kind::broken, "connection is not open");
    conn_->set_attributes(exasol::attributes{{"autocommit", false}});
  }

  bool validate() override {
    if (!is_open())
      return false;
    try {
      conn_->query("SELECT 1");
      return true;
    } catch (const exasol::error&) {
      return false;
    }
  }

  bool is_dirty() const override {
    if (!conn_)
      return false;
    if (changed_ != session_change::none)
      return true;
    if (conn_->transaction_may_be_open() || conn_->open_prepared_statements() > 0 ||
        conn_->open_result_sets() > 0)
      return true;
    const auto& now = conn_->attributes();
    if (schema_of(now) != schema_of(baseline_))
      return true;
    for (auto name : restorable)
      if (!same(baseline_, now, name))
        return true;
    for (auto name : fixed)
      if (!same(baseline_, now, name))
        return true;
    return false;
  }

  bool reset() override {
    if (!is_open())
      return false;
    try {
      return restore();
    } catch (const exasol::error&) {
      return false;
    }
  }

  bool is_open() const override { return conn_ && conn_->is_open(); }

  void close() override {
    if (!conn_)
      return;
    try {
      if (conn_->is_open())
        conn_->disconnect();
    } catch (const exasol::error&) {
      // The socket is closed either way; the server drops the session.
    }
    conn_->close(); // the client object stays (see the class comment)
  }

private:
  // The client gave up on the statement: at its query timeout, or when the server did not
  // confirm an abortQuery (abort_running, or the timeout's) within the abort's grace. The
  // statement's limit passed or it was aborted, which is no lost connection even when the
  // client had to drop the connection.
  bool aborted_by_client(const exasol::error& e, std::chrono::steady_clock::duration took) const {
    if (e.kind() != exasol::error_kind::timeout)
      return false;
    auto limit = query_limit(creds_);
    return (limit.count() > 0 && took >= limit) ||
           std::string_view(e.what()).find("abortQuery") != std::string_view::npos;
  }

  // The worst change wins until a reset: one that no reset can undo closes the connection.
  void note_session_change(session_change change) { changed_ = std::max(changed_, change); }

  // Sets the proxied attributes of `wanted` that differ from the session's, in one
  // setAttributes (none when nothing differs). A schema is opened by setAttributes and closed
  // by CLOSE SCHEMA (setAttributes cannot close one), before the other attributes so that it
  // runs under the autocommit the session had.
  void apply_wanted(const exasol::attributes& wanted) {
    const auto& now = conn_->attributes();
    exasol::attributes diff;
    if (auto w = wanted.find("currentSchema"); w != wanted.end()) {
      std::string schema =
          std::holds_alternative<std::string>(w->second) ? std::get<std::string>(w->second) : "";
      if (schema != schema_of(now)) {
        if (schema.empty())
          conn_->execute("CLOSE SCHEMA");
        else
          diff["currentSchema"] = schema;
      }
    }
    for (auto name : proxied) {
      auto w = wanted.find(std::string(name));
      if (w == wanted.end())
        continue;
      auto n = now.find(std::string(name));
      if (n == now.end() || !(n->second == w->second))
        diff[std::string(name)] = w->second;
    }
    if (!diff.empty())
      conn_->set_attributes(diff);
  }

  // The request itself, after the attributes; a server error throws.
  void perform(const proxy_request& request, proxy_outcome& out) {
    using kind = proxy_request::kind;
    auto only_sql = [&]() -> const std::string& {
      if (request.sql.size() != 1)
        throw exasol::error(exasol::error_kind::config,
                            "a proxy request of this kind takes one SQL text, not " +
                                std::to_string(request.sql.size()));
      return request.sql.front();
    };
    switch (request.type) {
    case kind::execute: {
      const auto& sql = only_sql();
      out.change = session_change_of(sql);
      note_session_change(out.change);
      out.results = conn_->execute(sql);
      return;
    }
    case kind::batch:
      for (const auto& sql : request.sql)
        out.change = std::max(out.change, session_change_of(sql));
      note_session_change(out.change);
      out.results = conn_->execute_batch(request.sql);
      return;
    case kind::prepare: {
      const auto& sql = only_sql();
      auto statement = conn_->prepare(sql);
      out.handle = statement.handle;
      out.parameter_columns_json = statement.parameter_columns_json;
      out.result_columns_json = statement.result_columns_json;
      out.results = std::move(statement.results);
      prepared_[statement.handle] = {std::move(statement.parameter_columns_json), sql};
      return;
    }
    case kind::execute_prepared: {
      auto p = prepared_.find(request.handle);
      if (p == prepared_.end())
        throw exasol::error(exasol::error_kind::config, "prepared statement " +
                                                            std::to_string(request.handle) +
                                                            " is not open on this connection");
      out.change = session_change_of(p->second.sql);
      note_session_change(out.change);
      out.results = conn_->execute_prepared_raw(request.handle, p->second.parameter_columns_json,
                                                request.data_json, request.num_rows);
      return;
    }
    case kind::close_prepared: {
      exasol::prepared_statement statement;
      statement.handle = request.handle;
      prepared_.erase(request.handle);
      conn_->close_prepared(statement);
      return;
    }
    case kind::set_attributes:
      return; // applied already
    }
    throw exasol::error(exasol::error_kind::config, "unknown proxy request kind");
  }

  bool restore() {
    if (changed_ == session_change::lasting)
      return false; // IMPERSONATE or an unreported session parameter: only closing undoes it
    if (conn_->transaction_may_be_open())
      conn_->execute("ROLLBACK");
    if (conn_->open_prepared_statements() > 0 || conn_->open_result_sets() > 0)
      conn_->close_leftovers();
    prepared_.clear(); // none is open any more
    const auto& now = conn_->get_attributes();
    for (auto name : fixed)
      if (!same(baseline_, now, name))
        return false;
    auto schema_now = schema_of(now), schema_then = schema_of(baseline_);
    exasol::attributes wanted;
    if (schema_now != schema_then) {
      if (schema_then.empty())
        conn_->execute("CLOSE SCHEMA"); // setAttributes can open a schema, not close one
      else
        wanted["currentSchema"] = schema_then;
    }
    for (auto name : restorable)
      if (!same(baseline_, now, name))
        wanted[std::string(name)] = baseline_.at(std::string(name));
    if (!wanted.empty())
      conn_->set_attributes(wanted);
    changed_ = session_change::none; // the attributes were read and compared just now
    return !is_dirty();
  }

  credentials creds_;
  std::unique_ptr<exasol::connection> conn_;
  exasol::attributes baseline_;
  session_change changed_ = session_change::none;
  // What run() needs of the statements it prepared: execute sends the parameter columns back,
  // and the SQL tells the session change.
  struct prepared_info {
    std::string parameter_columns_json;
    std::string sql;
  };
  std::map<std::int64_t, prepared_info> prepared_;
};

} // namespace

std::unique_ptr<connection_backend> make_exasol_backend(const credentials& creds,
                                                        exasol::io_threads&) {
  return std::make_unique<exasol_backend>(creds);
}

std::unique_ptr<connection_backend> make_exasol_backend(const credentials& creds) {
  return make_exasol_backend(creds, exasol::shared_io_threads());
}

} // namespace exapool
