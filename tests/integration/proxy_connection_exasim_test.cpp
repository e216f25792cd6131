// Proxy requests (exapool proxy's unit of work) on a connection actor over the real backend,
// against exasim in-process: the client's attributes are set only where they differ (counted
// by the server's requests), server errors come back as data with their sqlCode, batches,
// prepared statements with raw JSON parameters, and the transaction state. The test plays the
// pool (one lease, a scoped listener). Timeouts are hang guards, never timed assertions.
#include "runtime_support.hpp"

#include "actors/connection_actor.hpp"

using namespace exapool;
using namespace exapool::itest;

namespace {

struct system_config : caf::actor_system_config {
  system_config() { set("scheduler.max-threads", 2); }
};

struct fixture {
  sim db;
  system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  caf::scoped_actor listener{sys};
  connection_actor conn;
  std::uint64_t lease_id = 1;

  fixture() {
    conn = spawn_connection(sys, make_exasol_backend(sim_credentials(db.server)),
                            caf::actor_cast<connection_listener>(caf::actor{listener}));
    ask<std::uint64_t>(self, conn, open_atom::value);
  }

  ~fixture() { ask<bool>(self, conn, close_atom::value); }

  proxy_outcome run(const proxy_request& request) {
    return ask<proxy_outcome>(self, conn, execute_atom::value, lease_id, request);
  }

  proxy_outcome run_sql(const std::string& sql, const exasol::attributes& wanted = {}) {
    proxy_request r;
    r.sql = {sql};
    r.wanted = wanted;
    return run(r);
  }

  // The commands the server received while `f` ran.
  template <class F> std::uint64_t requests_during(F f) {
    auto before = db.stats().requests;
    f();
    return db.stats().requests - before;
  }

  // The schema the server says this session has open.
  std::string server_schema() {
    auto o =
        run_sql("SELECT SCOPE_SCHEMA FROM EXA_ALL_SESSIONS WHERE SESSION_ID = CURRENT_SESSION");
    INFO(o.sql_code << " " << o.text);
    REQUIRE_FALSE(o.failed());
    const auto& rows = o.results.at(0).rows;
    REQUIRE(rows.row_count() == 1);
    const auto& v = rows.at(0, 0);
    return exasol::is_null(v) ? std::string() : std::get<std::string>(v);
  }

  // The lease reported dirty since the last call (the report precedes the reply).
  bool dirty_reported() {
    bool reported = false;
    listener->receive([&](dirty_atom, std::uint64_t id) { reported = id == lease_id; },
                      caf::after(std::chrono::seconds(0)) >> [] {});
    return reported;
  }
};

std::string text_of(const exasol::value& v) {
  return std::holds_alternative<std::string>(v) ? std::get<std::string>(v) : exasol::to_string(v);
}

std::int64_t int_of(const exasol::value& v) {
  return std::get<std::int64_t>(v);
}

} // namespace

TEST_CASE_METHOD(fixture, "proxy over exasim: attributes are set only where they differ",
                 "[proxy][exasim]") {
  proxy_outcome o;
  CHECK(requests_during([&] { o = run_sql("SELECT 1"); }) == 1);
  CHECK_FALSE(o.failed());
  CHECK(int_of(o.after.at("queryTimeout")) == 0);
  // The client's full set as the session reports it: nothing differs (read-only names such as
  // openTransaction and the front's own compressionEnabled are not the connection's to set).
  auto wanted = o.after;
  CHECK(requests_during([&] { o = run_sql("SELECT 1", wanted); }) == 1);
  CHECK_FALSE(dirty_reported());

  wanted["queryTimeout"] = std::int64_t{7};
  CHECK(requests_during([&] { o = run_sql("SELECT 1", wanted); }) == 2); // setAttributes first
  CHECK(int_of(o.after.at("queryTimeout")) == 7);
  CHECK(dirty_reported()); // off the pool's baseline
  CHECK(requests_during([&] { o = run_sql("SELECT 1", wanted); }) == 1);

  // OPEN SCHEMA by SQL (CREATE SCHEMA opens it): the outcome tells the client, whose next
  // request wants it, which costs nothing more.
  CHECK(requests_during([&] { o = run_sql("CREATE SCHEMA proxy_s", wanted); }) == 1);
  CHECK(text_of(o.after.at("currentSchema")) == "PROXY_S");
  wanted = o.after;
  CHECK(requests_during([&] { o = run_sql("SELECT 1", wanted); }) == 1);
  // No schema wanted: CLOSE SCHEMA (setAttributes cannot close one).
  wanted["currentSchema"] = std::string();
  CHECK(requests_during([&] { o = run_sql("SELECT 1", wanted); }) == 2);
  CHECK(text_of(o.after.at("currentSchema")).empty());
  CHECK(server_schema().empty());
  // The schema wanted again: setAttributes opens it on the server.
  wanted["currentSchema"] = std::string("PROXY_S");
  CHECK(requests_during([&] { o = run_sql("SELECT 1", wanted); }) == 2);
  CHECK_FALSE(o.failed());
  CHECK(text_of(o.after.at("currentSchema")) == "PROXY_S");
  CHECK(server_schema() == "PROXY_S");

  // setAttributes alone; the same numeric characters cost nothing.
  proxy_request set;
  set.type = proxy_request::kind::set_attributes;
  set.wanted = {{"queryTimeout", std::int64_t{0}}, {"numericCharacters", std::string(".,")}};
  CHECK(requests_during([&] { o = run(set); }) == 1);
  CHECK(int_of(o.after.at("queryTimeout")) == 0);
  CHECK(requests_during([&] { o = run(set); }) == 0);
  CHECK(o.results.empty());

  // The server enforces the queryTimeout it was given: R0001, as data.
  db.server.set_query_latency(3000ms);
  o = run_sql("SELECT 1", {{"queryTimeout", std::int64_t{1}}});
  db.server.set_query_latency(0ms);
  CHECK(o.sql_code == "R0001");
  CHECK(int_of(o.after.at("queryTimeout")) == 1);
  CHECK_FALSE(run_sql("SELECT 1").failed()); // the session lives on
}

TEST_CASE_METHOD(fixture, "proxy over exasim: a server error keeps its sqlCode as data",
                 "[proxy][exasim]") {
  auto o = run_sql("SELECT * FROM proxy_missing_table");
  CHECK(o.failed());
  CHECK(o.sql_code == "42000");
  CHECK_THAT(o.text, Catch::Contains("PROXY_MISSING_TABLE", Catch::CaseSensitive::No));
  CHECK(o.text.rfind("[42000]", 0) == std::string::npos); // the code travels apart
  CHECK(o.results.empty());
  CHECK_FALSE(dirty_reported());
  proxy_request prepare;
  prepare.type = proxy_request::kind::prepare;
  prepare.sql = {"SELEC 1"};
  o = run(prepare);
  CHECK(o.sql_code == "42000");
  CHECK(o.handle == 0);
  CHECK(o.open_prepared == 0);
  // The session lives on.
  o = run_sql("SELECT 2");
  CHECK_FALSE(o.failed());
  CHECK(int_of(o.results.at(0).rows.at(0, 0)) == 2);
}

TEST_CASE_METHOD(fixture, "proxy over exasim: a batch is one executeBatch", "[proxy][exasim]") {
  run_sql("CREATE TABLE proxy_batch (x DECIMAL(9,0))");
  proxy_request batch;
  batch.type = proxy_request::kind::batch;
  batch.sql = {"INSERT INTO proxy_batch VALUES (1)", "INSERT INTO proxy_batch VALUES (2)",
               "UPDATE proxy_batch SET x = x + 10"};
  proxy_outcome o;
  CHECK(requests_during([&] { o = run(batch); }) == 1);
  CHECK_FALSE(o.failed());
  REQUIRE(o.results.size() == 3);
  CHECK(o.results[0].row_count == 1);
  CHECK(o.results[1].row_count == 1);
  CHECK(o.results[2].row_count == 2);
  CHECK(int_of(run_sql("SELECT SUM(x) FROM proxy_batch").results.at(0).rows.at(0, 0)) == 23);
  batch.sql = {"INSERT INTO proxy_batch VALUES (3)", "INSERT INTO proxy_missing VALUES (4)"};
  o = run(batch);
  CHECK(o.sql_code == "42000");
}

TEST_CASE_METHOD(fixture, "proxy over exasim: prepare, execute with JSON parameters, close",
                 "[proxy][exasim]") {
  run_sql("CREATE TABLE proxy_rows (id DECIMAL(9,0), label VARCHAR(40))");
  proxy_request prepare;
  prepare.type = proxy_request::kind::prepare;
  prepare.sql = {"INSERT INTO proxy_rows VALUES (?, ?)"};
  auto insert = run(prepare);
  REQUIRE_FALSE(insert.failed());
  CHECK(insert.handle > 0);
  CHECK(insert.open_prepared == 1);
  CHECK_THAT(insert.parameter_columns_json, Catch::Contains("DECIMAL"));
  CHECK_THAT(insert.parameter_columns_json, Catch::Contains("VARCHAR"));
  CHECK(insert.result_columns_json.empty());
  CHECK(dirty_reported()); // a prepared statement is open

  proxy_request execute;
  execute.type = proxy_request::kind::execute_prepared;
  execute.handle = insert.handle;
  execute.data_json = R"([[1,2,3],["one","two",null]])";
  execute.num_rows = 3;
  auto inserted = run(execute);
  REQUIRE_FALSE(inserted.failed());
  REQUIRE(inserted.results.size() == 1);
  CHECK(inserted.results[0].row_count == 3);

  prepare.sql = {"SELECT id, label FROM proxy_rows WHERE id > ? ORDER BY id"};
  auto select = run(prepare);
  REQUIRE_FALSE(select.failed());
  CHECK(select.open_prepared == 2);
  CHECK_THAT(select.result_columns_json, Catch::Contains("LABEL", Catch::CaseSensitive::No));
  execute.handle = select.handle;
  execute.data_json = "[[1]]";
  execute.num_rows = 1;
  auto found = run(execute);
  REQUIRE_FALSE(found.failed());
  REQUIRE(found.results.size() == 1);
  REQUIRE(found.results[0].is_result_set());
  const auto& rows = found.results[0].rows;
  REQUIRE(rows.row_count() == 2);
  CHECK(int_of(rows.at(0, 0)) == 2);
  CHECK(text_of(rows.at(0, 1)) == "two");
  CHECK(exasol::is_null(rows.at(1, 1)));
  // Data of the wrong shape never reaches the server.
  execute.num_rows = 2;
  auto refused = ask_error<proxy_outcome>(self, conn, execute_atom::value, lease_id, execute);
  CHECK(code_of(refused) == pool_errc::invalid_config);

  proxy_request close_it;
  close_it.type = proxy_request::kind::close_prepared;
  close_it.handle = insert.handle;
  CHECK(run(close_it).open_prepared == 1);
  close_it.handle = select.handle;
  auto closed = run(close_it);
  CHECK_FALSE(closed.failed());
  CHECK(closed.open_prepared == 0);
  // A closed handle is unknown to the connection.
  execute.num_rows = 1;
  refused = ask_error<proxy_outcome>(self, conn, execute_atom::value, lease_id, execute);
  CHECK(code_of(refused) == pool_errc::invalid_config);
  CHECK(ask<bool>(self, conn, reset_atom::value));
}

TEST_CASE_METHOD(fixture, "proxy over exasim: an INSERT with autocommit off opens a transaction",
                 "[proxy][exasim]") {
  run_sql("CREATE TABLE proxy_tx (x DECIMAL(9,0))");
  exasol::attributes manual{{"autocommit", false}};
  proxy_outcome o;
  CHECK(requests_during([&] { o = run_sql("INSERT INTO proxy_tx VALUES (1)", manual); }) == 2);
  CHECK_FALSE(o.failed());
  CHECK(o.transaction_open);
  CHECK(o.after.at("autocommit") == exasol::value(false));
  CHECK(dirty_reported());
  o = run_sql("SELECT COUNT(*) FROM proxy_tx", manual);
  CHECK(o.transaction_open);
  o = run_sql("COMMIT", manual);
  CHECK_FALSE(o.failed());
  CHECK_FALSE(o.transaction_open);
  o = run_sql("INSERT INTO proxy_tx VALUES (2)", manual);
  CHECK(o.transaction_open);
  o = run_sql("ROLLBACK", manual);
  CHECK_FALSE(o.transaction_open);
  CHECK(int_of(run_sql("SELECT COUNT(*) FROM proxy_tx", manual).results.at(0).rows.at(0, 0)) == 1);
  // Autocommit wanted back on: the session is at the baseline again.
  o = run_sql("SELECT 1", {{"autocommit", true}});
  CHECK(o.after.at("autocommit") == exasol::value(true));
  CHECK_FALSE(o.transaction_open);
}
