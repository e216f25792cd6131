// The real connection backend: one exasol::connection. Its calls block on the network, so the
// connection actor over it runs detached (a thread of its own).
#include "actors/connection_actor.hpp"

#include "integration/exasol/connection.hpp"
#include "integration/exasol/errors.hpp"

#include <array>
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
  o.socket_timeout = duration_cast<milliseconds>(c.socket_timeout);
  o.query_timeout = duration_cast<milliseconds>(c.query_timeout);
  o.identity.client_name = c.client_name;
  return o;
}

namespace {

class exasol_backend final : public connection_backend {
public:
  explicit exasol_backend(credentials creds) : creds_(std::move(creds)) {}

  bool blocks() const override { return true; }

  std::uint64_t open() override {
    conn_ = std::make_unique<exasol::connection>(connection_options_of(creds_));
    baseline_ = conn_->get_attributes();
    return conn_->session().session_id;
  }

  query_result execute(const std::string& sql) override {
    if (!conn_)
      throw exasol::error(exasol::error_kind::broken, "connection is not open");
    query_result out;
    out.results = conn_->execute(sql);
    return out;
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
    conn_.reset();
  }

private:
  bool restore() {
    if (conn_->transaction_may_be_open())
      conn_->execute("ROLLBACK");
    if (conn_->open_prepared_statements() > 0 || conn_->open_result_sets() > 0)
      conn_->close_leftovers();
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
    return !is_dirty();
  }

  credentials creds_;
  std::unique_ptr<exasol::connection> conn_;
  exasol::attributes baseline_;
};

} // namespace

std::unique_ptr<connection_backend> make_exasol_backend(const credentials& creds) {
  return std::make_unique<exasol_backend>(creds);
}

} // namespace exapool
