// Init SQL and the configured session attributes, seen from exasim's side: the init statements
// run once on every new connection (a table they write to counts them), what a borrower
// changes with SQL comes back to the configured values for the next borrower (EXA_ALL_SESSIONS'
// SCOPE_SCHEMA and QUERY_TIMEOUT, and whether a statement commits), and a failing init
// statement fails the open by its position and leaves no server session behind. The other
// session attributes (snapshotTransactionsEnabled, timestampUtcEnabled, numericCharacters,
// feedbackInterval, resultSetMaxRows) are what the server reports for a new connection, and
// what a borrower sets through a proxy request comes back for the next one; resultSetMaxRows
// also shows in the rows the server returns.
#include "runtime_support.hpp"

#include "actors/connection_actor.hpp"
#include "tests/support/runtime_errors.hpp"

#include <algorithm>
#include <cctype>

using namespace exapool;
using namespace exapool::itest;

namespace {

// The pool's own credentials for the server, apart from the ones under test (another client
// name: another pool), to set up tables and to read what the others committed.
credentials admin_of(const exasim::server& s) {
  auto admin = sim_credentials(s);
  admin.client_name = "init-sql-test-admin";
  return admin;
}

std::int64_t count_of(runtime& rt, const credentials& creds, const std::string& table) {
  return first_int(rt.query(creds, "SELECT COUNT(*) FROM " + table));
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ::toupper);
  return text;
}

// SCOPE_SCHEMA and QUERY_TIMEOUT of the session that runs this statement, as the server sees
// it (the statement runs alone: the one session executing SQL).
std::pair<std::string, std::int64_t> session_view(runtime& rt, const credentials& creds) {
  auto rows = rt.query(creds, "SELECT SCOPE_SCHEMA, QUERY_TIMEOUT FROM EXA_ALL_SESSIONS "
                              "WHERE STATUS = 'EXECUTE SQL'");
  REQUIRE(rows.row_count() == 1);
  auto* schema = std::get_if<std::string>(&rows.at(0, 0));
  exasol::result_set timeout;
  timeout.data = {{rows.at(0, 1)}};
  return {upper(schema ? *schema : std::string()), first_int(timeout)};
}

runtime_config pool_of(std::size_t size) {
  auto config = sim_runtime_config();
  config.pool.max_size = size;
  return config;
}

// The attributes the connection's session has, as the server last reported them (the open's or
// the reset's getAttributes; a set_attributes request with nothing wanted sends nothing), read
// by a borrower that gives the connection back at once.
exasol::attributes attributes_of(caf::scoped_actor& self, const pool_actor& pool) {
  auto granted = ask<lease>(self, pool, borrow_atom::value);
  proxy_request read;
  read.type = proxy_request::kind::set_attributes;
  auto outcome = ask<proxy_outcome>(self, caf::actor_cast<connection_actor>(granted.connection),
                                    execute_atom::value, granted.id, read);
  self->send(pool, give_back_atom::value, granted.id);
  return outcome.after;
}

// The five attributes under test, set to anything but the server's defaults.
credentials with_session_attributes(credentials creds) {
  creds.snapshot_transactions = true;
  creds.timestamp_utc = true;
  creds.numeric_characters = std::string(",.");
  creds.feedback_interval_s = 4;
  creds.result_set_max_rows = std::uint64_t(3);
  return creds;
}

const exasol::attributes configured_attributes{{"snapshotTransactionsEnabled", true},
                                               {"timestampUtcEnabled", true},
                                               {"numericCharacters", std::string(",.")},
                                               {"feedbackInterval", std::int64_t{4}},
                                               {"resultSetMaxRows", std::int64_t{3}}};

void check_configured(const exasol::attributes& now) {
  for (const auto& [name, value] : configured_attributes) {
    INFO(name);
    REQUIRE(now.count(name) == 1);
    CHECK(now.at(name) == value);
  }
}

} // namespace

TEST_CASE("init SQL runs once on every new connection", "[runtime][exasim][init_sql]") {
  sim db;
  runtime rt{pool_of(3)};
  auto admin = admin_of(db.server);
  rt.execute(admin, "CREATE TABLE init_log (what VARCHAR(20))");
  auto creds = sim_credentials(db.server);
  creds.init_sql = {"INSERT INTO init_log VALUES ('first')", "INSERT INTO init_log VALUES ('two')"};

  auto opened_before = db.stats().sessions_opened;
  CHECK(rt.prewarm(creds, 3).opened == 3);
  CHECK(db.stats().sessions_opened - opened_before == 3);
  CHECK(count_of(rt, admin, "init_log") == 6); // both statements, on each of the 3
  // Borrowing never runs them again; only a new connection does.
  for (int i = 0; i < 20; ++i)
    rt.execute(creds, "SELECT 1");
  CHECK(count_of(rt, admin, "init_log") == 6);
  CHECK(rt.stats(creds).opened == 3);
  rt.shutdown();
  CHECK(eventually([&] { return db.stats().active_sessions == 0; }));
}

TEST_CASE("init SQL with autocommit off is committed before the connection is pooled",
          "[runtime][exasim][init_sql]") {
  sim db;
  runtime rt{pool_of(1)};
  auto admin = admin_of(db.server);
  rt.execute(admin, "CREATE TABLE init_committed (what VARCHAR(20))");
  auto creds = sim_credentials(db.server);
  creds.autocommit = false;
  creds.init_sql = {"INSERT INTO init_committed VALUES ('kept')"};

  CHECK(rt.prewarm(creds, 1).opened == 1);
  // Another session sees the row: committed, not left in a transaction for a reset to undo.
  CHECK(count_of(rt, admin, "init_committed") == 1);
  rt.shutdown();
}

TEST_CASE("what init SQL sets is the baseline every reset restores",
          "[runtime][exasim][init_sql]") {
  sim db;
  runtime rt{pool_of(1)}; // one connection: every borrower gets the same session
  auto admin = admin_of(db.server);
  rt.execute(admin, "CREATE SCHEMA INIT_S");
  rt.execute(admin, "CREATE SCHEMA OTHER_S");
  auto creds = sim_credentials(db.server);
  creds.init_sql = {"OPEN SCHEMA INIT_S", "ALTER SESSION SET QUERY_TIMEOUT = 7"};

  CHECK(session_view(rt, creds) == std::make_pair(std::string("INIT_S"), std::int64_t{7}));
  rt.execute(creds, "OPEN SCHEMA OTHER_S");
  rt.execute(creds, "ALTER SESSION SET QUERY_TIMEOUT = 99");
  CHECK(session_view(rt, creds) == std::make_pair(std::string("INIT_S"), std::int64_t{7}));
  CHECK(rt.stats(creds).opened == 1); // the same session, reset, not replaced
  rt.shutdown();
}

TEST_CASE("schema, autocommit and queryTimeout changed by a borrower come back as configured",
          "[runtime][exasim][init_sql]") {
  sim db;
  runtime rt{pool_of(1)};
  auto admin = admin_of(db.server);
  rt.execute(admin, "CREATE SCHEMA RESET_A");
  rt.execute(admin, "CREATE SCHEMA RESET_B");
  rt.execute(admin, "CREATE TABLE reset_rows (x INT)");
  auto creds = sim_credentials(db.server);
  creds.schema = "RESET_A";
  creds.server_query_timeout_s = 11;

  CHECK(session_view(rt, creds) == std::make_pair(std::string("RESET_A"), std::int64_t{11}));
  auto opened_before = db.stats().sessions_opened;
  {
    // A borrower turns autocommit off (begin), changes schema and queryTimeout with SQL, and
    // ends holding its transaction.
    caf::scoped_actor self{rt.system()};
    auto session = rt.spawn_session(creds);
    CHECK(ask<bool>(self, session, begin_atom::value));
    for (std::string sql : {"OPEN SCHEMA RESET_B", "ALTER SESSION SET QUERY_TIMEOUT = 99",
                            "INSERT INTO reset_rows VALUES (1)"})
      ask<query_result>(self, session, execute_atom::value, sql);
    self->send_exit(session, caf::exit_reason::user_shutdown);
  }
  REQUIRE(eventually([&] {
    auto s = rt.stats(creds);
    return s.leased == 0 && s.idle == 1;
  }));

  CHECK(session_view(rt, creds) == std::make_pair(std::string("RESET_A"), std::int64_t{11}));
  // Autocommit is on again: the next borrower's INSERT is committed at once, so another
  // session sees it (with autocommit still off it would be rolled back on return).
  rt.execute(creds, "INSERT INTO reset_rows VALUES (2)");
  CHECK(count_of(rt, admin, "reset_rows") == 1); // the dead borrower's row 1 was rolled back
  CHECK(first_int(rt.query(admin, "SELECT MAX(x) FROM reset_rows")) == 2);
  CHECK(db.stats().sessions_opened == opened_before); // reset, not replaced
  rt.shutdown();
}

TEST_CASE("a failing init statement fails the open by its position and leaves no session",
          "[runtime][exasim][init_sql]") {
  auto options = sim_options();
  options.users["keeper"] = "pw-Init-Secret-42";
  exasim::server server{options};
  server.start();
  auto config = pool_of(2);
  config.pool.acquire_timeout = 1s;
  runtime rt{config};
  auto creds = sim_credentials(server);
  creds.user = "keeper";
  creds.password.value = "pw-Init-Secret-42";
  creds.init_sql = {"SELECT 1", "SELECT 'marker-of-the-statement-text' FROM no_such_table",
                    "SELECT 2"};

  auto e = thrown_by([&] { rt.prewarm(creds, 1); });
  CHECK(e.code() == pool_errc::connect_failed);
  std::string text = e.what();
  CHECK_THAT(text, Catch::Contains("init SQL statement 2 of 3 failed"));
  CHECK_THAT(text, Catch::Contains("42000"));                                   // the server's code
  CHECK_THAT(text, Catch::Contains("no_such_table", Catch::CaseSensitive::No)); // and its message
  CHECK(text.find("marker-of-the-statement") == std::string::npos);             // not the statement
  CHECK(text.find("Init-Secret") == std::string::npos);                         // nor the password
  // The half-initialised session was closed, never pooled.
  CHECK(server.stats().sessions_opened >= 1);
  CHECK(eventually([&] { return server.stats().active_sessions == 0; }));
  CHECK(rt.stats(creds).opened == 0); // no open ever completed
  // A borrower hears the same cause when its wait ends.
  auto borrow = thrown_by([&] { rt.execute(creds, "SELECT 3"); });
  CHECK_THAT(std::string(borrow.what()), Catch::Contains("init SQL statement 2 of 3 failed"));
  rt.shutdown();
}

TEST_CASE("the other session attributes are applied to a new connection and restored by reset",
          "[runtime][exasim][init_sql]") {
  sim db;
  runtime rt{pool_of(1)}; // one connection: every borrower gets the same session
  auto admin = admin_of(db.server);
  rt.execute(admin, "CREATE TABLE ten_rows (x INT)");
  rt.execute(admin,
             "INSERT INTO ten_rows VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10)");
  auto creds = with_session_attributes(sim_credentials(db.server));
  caf::scoped_actor self{rt.system()};
  auto pool = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds);

  check_configured(attributes_of(self, pool));
  // The server applies the row limit: three of the ten rows, without an error.
  CHECK(rt.query(creds, "SELECT x FROM ten_rows").row_count() == 3);
  CHECK(rt.query(admin, "SELECT x FROM ten_rows").row_count() == 10); // not set: the default
  auto opened_before = db.stats().sessions_opened;
  {
    // A borrower (a proxied client) wants the server's defaults back; feedbackInterval stays
    // the proxy front's own, so the hostile-server test covers its restore.
    auto granted = ask<lease>(self, pool, borrow_atom::value);
    proxy_request change;
    change.sql = {"SELECT x FROM ten_rows"};
    change.wanted = {{"snapshotTransactionsEnabled", false},
                     {"timestampUtcEnabled", false},
                     {"numericCharacters", std::string(".,")},
                     {"resultSetMaxRows", std::int64_t{0}}};
    auto outcome = ask<proxy_outcome>(self, caf::actor_cast<connection_actor>(granted.connection),
                                      execute_atom::value, granted.id, change);
    REQUIRE_FALSE(outcome.failed());
    CHECK(outcome.results.at(0).rows.row_count() == 10); // the server took the change
    for (const auto& [name, value] : change.wanted) {
      INFO(name);
      CHECK(outcome.after.at(name) == value);
    }
    self->send(pool, give_back_atom::value, granted.id);
  }
  check_configured(attributes_of(self, pool));
  CHECK(rt.query(creds, "SELECT x FROM ten_rows").row_count() == 3);
  CHECK(db.stats().sessions_opened == opened_before); // reset, not replaced
  CHECK(rt.stats(creds).opened == 1);
  rt.shutdown();
}

TEST_CASE("resultSetMaxRows fails the open against a server that speaks protocol v1 only",
          "[runtime][exasim][init_sql]") {
  auto options = sim_options();
  options.max_protocol_version = 1;
  exasim::server server{options};
  server.start();
  auto config = pool_of(1);
  config.pool.acquire_timeout = 1s;
  runtime rt{config};
  auto creds = sim_credentials(server);
  creds.result_set_max_rows = std::uint64_t(3);
  auto e = thrown_by([&] { rt.prewarm(creds, 1); });
  CHECK_THAT(std::string(e.what()), Catch::Contains("resultSetMaxRows needs protocol version 2"));
  CHECK(eventually([&] { return server.stats().active_sessions == 0; })); // closed, not pooled
  // The other attributes need no v2.
  auto others = with_session_attributes(sim_credentials(server));
  others.result_set_max_rows = caf::none;
  CHECK(rt.prewarm(others, 1).opened == 1);
  rt.shutdown();
}
