// Statements' limits and the session state a pool must not pass on, over the real client
// against exasim (issue 8, items 1 and 7). The server's view decides: rows written, live
// session ids, the session's query ended. Timeouts are hang guards, never timed assertions.
#include "runtime_support.hpp"

#include "actors/connection_actor.hpp"
#include "actors/session_actor.hpp"

#include <algorithm>
#include <atomic>
#include <future>

using namespace exapool;
using namespace exapool::itest;

namespace {

std::int64_t count_rows(runtime& rt, const credentials& creds, const std::string& table) {
  return first_int(rt.query(creds, "SELECT COUNT(*) AS N FROM " + table));
}

bool is_live(const exasim::server& s, std::uint64_t session_id) {
  auto ids = s.session_ids();
  return std::find(ids.begin(), ids.end(), session_id) != ids.end();
}

// A connection actor over the real backend, outside any pool; the test plays the pool.
struct lone_connection {
  std::shared_ptr<connection_backend> backend;
  connection_actor actor;
  caf::scoped_actor listener;

  lone_connection(caf::actor_system& sys, const credentials& creds)
      : backend(make_exasol_backend(creds)), listener(sys) {
    actor =
        spawn_connection(sys, backend, caf::actor_cast<connection_listener>(caf::actor{listener}));
  }
};

} // namespace

// The session's guard was max(socket_timeout, query_timeout) + 10 s (here + guard_slack): a
// statement that ran longer, kept alive by the server's heartbeats, was reported failed while
// it went on and committed, and a caller that retried wrote twice.
TEST_CASE("session over exasim: a statement longer than the old guard commits, reported once",
          "[session][exasim][guard]") {
  sim db;
  auto config = sim_runtime_config();
  config.pool.validation_bypass = 30s; // no SELECT 1 (it would run under the latency too)
  runtime rt{config};
  auto creds = sim_credentials(db.server);
  creds.socket_timeout = 1500ms; // exasim's heartbeat (feedbackInterval) comes every second
  creds.query_timeout = 0ms;     // no limit on the statement
  session_config guard;
  guard.guard_slack = 200ms; // the old guard: 1.5 s + 0.2 s, plus the wait for a connection
  guard.acquire_timeout = 300ms;
  auto session = spawn_session(rt.system(), rt.supervisor(), creds, guard);
  caf::scoped_actor self{rt.system()};
  ask<query_result>(self, session, execute_atom::value, std::string("CREATE TABLE slow (n INT)"));
  db.server.set_query_latency(3000ms); // the statement "runs" 3 s, beyond the old guard
  auto result =
      ask<query_result>(self, session, execute_atom::value, "INSERT INTO slow VALUES (1)");
  db.server.set_query_latency(0ms);
  REQUIRE(result.results.size() == 1);
  CHECK(result.results.front().row_count == 1);
  CHECK(count_rows(rt, creds, "slow") == 1);
  CHECK(db.stats().protocol_violations == 0);
  self->send_exit(session, caf::exit_reason::user_shutdown);
  rt.shutdown();
}

// A borrower that gives up aborts its statement: the real backend's abort_running() (called
// by the pool on another thread) reaches the server, which ends the statement unwritten.
TEST_CASE("real backend over exasim: abort_running aborts the statement server-side",
          "[connection][exasim][abort]") {
  sim db;
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto creds = sim_credentials(db.server);
  lone_connection conn(sys, creds);
  self->request(conn.actor, hang_guard, open_atom::value)
      .receive([](std::uint64_t) {}, [&](caf::error& e) { FAIL(sys.render(e)); });
  auto run = [&](const std::string& sql) {
    caf::error err;
    self->request(conn.actor, hang_guard, execute_atom::value, std::uint64_t{1}, sql)
        .receive([](query_result&) {}, [&](caf::error& e) { err = e; });
    return err;
  };
  REQUIRE_FALSE(run("CREATE TABLE aborted (n INT)"));
  db.server.set_query_latency(std::chrono::milliseconds(hang_guard) * 2); // never ends by itself
  auto before = db.stats().requests;
  auto pending = self->request(conn.actor, hang_guard, execute_atom::value, std::uint64_t{1},
                               std::string("INSERT INTO aborted VALUES (1)"));
  // The server has the statement: the client marked it running before it sent it.
  REQUIRE(eventually([&] { return db.stats().requests > before; }));
  conn.backend->abort_running(); // from this thread, while the connection's thread waits
  caf::error err;
  pending.receive([](query_result&) { FAIL("the statement was not aborted"); },
                  [&](caf::error& e) { err = e; });
  db.server.set_query_latency(0ms);
  CHECK(code_of(err) == pool_errc::statement_aborted);
  CHECK_THAT(context_of(err), Catch::Contains("R0003"));
  // Nothing was written, and the session serves on.
  REQUIRE_FALSE(run("CREATE TABLE probe (n INT)"));
  caf::error count_err;
  std::int64_t rows = -1;
  self->request(conn.actor, hang_guard, execute_atom::value, std::uint64_t{1},
                std::string("SELECT COUNT(*) AS N FROM aborted"))
      .receive(
          [&](query_result& r) {
            REQUIRE(r.results.size() == 1);
            rows = first_int(r.results.front().rows);
          },
          [&](caf::error& e) { count_err = e; });
  CHECK_FALSE(count_err);
  CHECK(rows == 0);
  CHECK(db.stats().protocol_violations == 0);
  self->request(conn.actor, hang_guard, close_atom::value)
      .receive([](bool) {}, [&](caf::error& e) { FAIL(sys.render(e)); });
  CHECK(eventually([&] { return db.stats().active_sessions == 0; }));
}

// Reset compares only the attributes the protocol reports: a session changed beyond them is
// closed on return (the server's view: its session id is gone), one changed within them is
// restored and kept.
TEST_CASE("session over exasim: IMPERSONATE and ALTER SESSION are not passed on",
          "[session][exasim][session_change]") {
  sim db;
  auto config = sim_runtime_config();
  config.pool.max_size = 1;
  runtime rt{config};
  auto creds = sim_credentials(db.server);
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);
  auto run = [&](const std::string& sql) {
    return ask<query_result>(self, session, execute_atom::value, sql);
  };
  run("SELECT 1");
  auto first = only_session(db.server);
  // exasim accepts any ALTER SESSION SET; this parameter is not an attribute.
  run("ALTER SESSION SET NLS_FIRST_DAY_OF_WEEK = 7");
  run("SELECT 1");
  CHECK_FALSE(is_live(db.server, first));
  auto second = only_session(db.server);
  // exasim has no IMPERSONATE (a syntax error): marked all the same, as the statement may
  // fail after it took effect.
  auto err = ask_error<query_result>(self, session, execute_atom::value, "IMPERSONATE other");
  CHECK(code_of(err) == pool_errc::server_error);
  run("SELECT 1");
  CHECK_FALSE(is_live(db.server, second));
  auto third = only_session(db.server);
  // QUERY_TIMEOUT is reported (queryTimeout): the reset restores it and keeps the session.
  run("ALTER SESSION SET QUERY_TIMEOUT = 77");
  auto timeout = ask<exasol::result_set>(
      self, session, query_atom::value,
      std::string("SELECT QUERY_TIMEOUT FROM EXA_ALL_SESSIONS WHERE SESSION_ID = ") +
          std::to_string(third));
  CHECK(first_int(timeout) == 0);
  CHECK(only_session(db.server) == third);
  CHECK(db.stats().protocol_violations == 0);
  self->send_exit(session, caf::exit_reason::user_shutdown);
  rt.shutdown();
  CHECK(eventually([&] { return db.stats().active_sessions == 0; }));
}

TEST_CASE("session over exasim: autocommit off refuses statements outside a transaction",
          "[session][exasim][autocommit]") {
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);
  creds.autocommit = false;
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);
  auto err = ask_error<query_result>(self, session, execute_atom::value,
                                     std::string("CREATE TABLE never (n INT)"));
  CHECK(code_of(err) == pool_errc::invalid_config);
  CHECK(db.stats().requests == 0); // refused before anything reached the server
  CHECK(ask<bool>(self, session, begin_atom::value));
  ask<query_result>(self, session, execute_atom::value, std::string("CREATE TABLE kept (n INT)"));
  ask<query_result>(self, session, execute_atom::value, std::string("INSERT INTO kept VALUES (1)"));
  CHECK(ask<bool>(self, session, commit_atom::value));
  auto reader = creds;
  reader.autocommit = true;
  CHECK(count_rows(rt, reader, "kept") == 1);
  self->send_exit(session, caf::exit_reason::user_shutdown);
  rt.shutdown();
}

// A pooled statement whose result is larger than the credentials allow fails alone with
// result_too_large: the client closed the result's handle and kept the connection, so the pool
// keeps it too (one server session throughout).
TEST_CASE("runtime over exasim: a result over max_result_rows fails the statement, not the "
          "connection",
          "[runtime][exasim][result_too_large]") {
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);
  creds.max_result_rows = 10;
  rt.execute(creds, "CREATE TABLE many (n INT)");
  rt.execute(creds, "INSERT INTO many VALUES (1),(2),(3),(4),(5),(6),(7),(8),(9),(10),(11),(12)");
  try {
    rt.query(creds, "SELECT n FROM many");
    FAIL("no exception");
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::result_too_large);
    CHECK_THAT(e.what(), Catch::Contains("10"));
  }
  CHECK(count_rows(rt, creds, "many") == 12);
  auto stats = rt.stats(creds);
  CHECK(stats.opened == 1);
  CHECK(stats.closed == 0);
  CHECK(db.server.session_ids().size() == 1);
  CHECK(db.stats().result_rows == 0); // nothing left held on the server
  rt.shutdown();
}

// The real backend's asynchronous calls without an actor. A close while a statement runs (an
// actor that ends mid-statement) drops the socket and completes once the socket is closed (on
// the client's strand, without waiting for the statement), so a connection actor that waits
// for it goes down only then; the statement then fails on the I/O thread, once; the backend may
// be destroyed while a call is pending.
TEST_CASE("real backend over exasim: start_close mid-statement completes once the socket is "
          "closed",
          "[connection][exasim][async]") {
  sim db;
  auto backend = make_exasol_backend(sim_credentials(db.server));
  backend->open();
  db.server.set_query_latency(std::chrono::milliseconds(hang_guard) * 2); // never ends by itself
  auto before = db.stats().requests;
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto failed = std::make_shared<std::promise<bool>>();
  auto statement = failed->get_future();
  backend->start_execute("SELECT 1", [calls, failed](std::exception_ptr e, query_result) {
    if (++*calls == 1)
      failed->set_value(e != nullptr);
  });
  REQUIRE(eventually([&] { return db.stats().requests > before; }));
  auto closing = std::make_shared<std::promise<bool>>();
  auto closed = closing->get_future();
  backend->start_close([closing](std::exception_ptr e, bool ok) { closing->set_value(!e && ok); });
  CHECK_FALSE(backend->is_open());
  // The statement never ends by itself: a close that completes did not wait for it.
  REQUIRE(closed.wait_for(hang_guard) == std::future_status::ready);
  CHECK(closed.get());
  SECTION("the statement fails") {}
  SECTION("the backend goes first") {
    backend.reset();
  }
  REQUIRE(statement.wait_for(hang_guard) == std::future_status::ready);
  CHECK(statement.get());
  db.server.set_query_latency(0ms);
  CHECK(eventually([&] { return db.stats().active_sessions == 0; }));
  CHECK(*calls == 1);
}
