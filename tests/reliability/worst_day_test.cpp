// The worst day's remaining cases, each checked from the server's side: a borrower that dies
// while its pooled statement runs, a server that stalls every login with heartbeats, and a
// shutdown that comes while statements are running.
#include "tests/reliability/reliability_support.hpp"
#include "tests/support/hostile_server.hpp"

#include <future>

using namespace exapool;
using namespace exapool::reliability;
using namespace exapool::testing;

namespace {

std::int64_t count_rows(runtime& rt, const credentials& creds, const std::string& table) {
  return first_int_of(rt.query(creds, "SELECT COUNT(*) AS N FROM " + table));
}

} // namespace

// Outside a transaction the pool delegates the statement to a connection; a borrower that dies
// meanwhile used to leave the statement running (and committing) unseen. Now the pool aborts
// it on the server, and the connection, unharmed, serves the next borrower.
TEST_CASE("borrower death during a pooled statement: aborted on the server, connection kept",
          "[reliability]") {
  exasim::server db{sim_options()};
  db.start();
  auto config = fault_config(1);
  config.pool.validation_bypass = 30s; // no SELECT 1 under the latency
  runtime rt{config};
  auto creds = sim_credentials(db);
  rt.execute(creds, "CREATE TABLE orphan (n INT)");
  auto session_id = db.session_ids().at(0);
  db.set_query_latency(std::chrono::milliseconds(hang_guard) * 2); // never ends by itself
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);
  auto before = db.stats().requests;
  self->send(session, execute_atom::value, std::string("INSERT INTO orphan VALUES (1)"));
  REQUIRE(time_until([&] { return db.stats().requests > before; }));
  auto killed_at = steady::now();
  self->monitor(session);
  self->send_exit(session, caf::exit_reason::kill);
  // The session dies now, not when its statement ends (it used to await the answer, and an
  // awaiting actor skips its exit message).
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(hang_guard) >> [] {});
  REQUIRE(down);
  auto back = time_until([&] { return rt.stats(creds).leased == 0; });
  db.set_query_latency(0ms);
  REQUIRE(back);
  std::cout << "borrower death during a pooled statement: connection back after "
            << ms_of(steady::now() - killed_at) << " ms" << std::endl;
  CHECK(count_rows(rt, creds, "orphan") == 0); // the statement never committed
  auto s = rt.stats(creds);
  CHECK(s.opened == 1); // aborted, not killed: the same server session serves on
  CHECK(s.reclaimed == 1);
  CHECK(db.session_ids() == std::vector<std::uint64_t>{session_id});
  rt.shutdown();
  CHECK(server_drained(db));
}

// A server that keeps a login alive with heartbeats and never finishes it used to hang the
// client for ever and keep the pool's connections opening for its 5-minute guard; shutdown
// returned while the process could not exit. Now each login ends at login_timeout: borrowers
// get a named error at acquire_timeout, and shutdown leaves no connection behind.
TEST_CASE("hostile server: logins stalled by heartbeats end at login_timeout, shutdown is clean",
          "[reliability]") {
  hostile_server staller(scenarios::heartbeats_during_login());
  credentials creds;
  creds.dsn = staller.dsn();
  creds.tls = false;
  creds.user = "sys";
  creds.password.value = "stalled-secret-31";
  creds.connect_timeout = 1s;
  creds.login_timeout = 500ms;
  creds.socket_timeout = 1s;
  auto config = fault_config(2);
  config.pool.acquire_timeout = 2s;
  runtime rt{config};
  auto started = steady::now();
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      rt.query(creds, "SELECT 1");
      FAIL("a login that never finished was accepted");
    } catch (const runtime_error& e) {
      std::string text = e.what();
      INFO(text);
      CHECK(e.code() == pool_errc::acquire_timeout);
      CHECK(text.find("timeout") != std::string::npos); // the last connect error is named
      CHECK(text.find("stalled-secret-31") == std::string::npos);
    }
  }
  auto s = rt.stats(creds);
  std::cout << "stalled logins: 2 borrows failed in " << ms_of(steady::now() - started) << " ms; "
            << staller.stats().logins << " logins reached the server, " << s.connect_failures
            << " connect failures" << std::endl;
  CHECK(s.opened == 0);
  CHECK(s.connect_failures >= 2); // each login ended: the pool tried again
  CHECK(s.total <= config.pool.max_size);
  rt.shutdown();
  // Every connection the pool made to the staller is gone (the scenario ends when it is).
  CHECK(staller.wait_finished(staller.stats().connections, std::chrono::milliseconds(10000)));
}

// Shutdown while 16 sessions run statements: it answers once every connection is closed, and
// what callers were told agrees with the server: every INSERT reported done is in the table,
// and none reported failed is.
TEST_CASE("shutdown with statements in flight: answered once the server holds no session",
          "[reliability]") {
  exasim::server db{sim_options()};
  db.start();
  auto creds = sim_credentials(db);
  {
    runtime setup{fault_config(1)};
    setup.execute(creds, "CREATE TABLE inflight (n INT)");
    setup.shutdown();
  }
  auto config = fault_config(8);
  runtime rt{config};
  auto load = std::async(std::launch::async, [&] {
    return run_load(rt, creds, 16, "INSERT INTO inflight VALUES (1)", 3s, caf::timespan{30s});
  });
  REQUIRE(time_until([&] { return db.stats().requests > 200; }));
  auto shutdown_at = steady::now();
  rt.shutdown(); // throws when a pool did not confirm its connections closed
  auto took = steady::now() - shutdown_at;
  auto sessions_at_answer = db.stats().active_sessions;
  auto seen = load.get();
  seen.print("shutdown in flight", 3);
  std::cout << "shutdown in flight: answered after " << ms_of(took) << " ms with "
            << sessions_at_answer << " server sessions left" << std::endl;
  CHECK(server_drained(db));
  runtime check{fault_config(1)};
  auto rows = count_rows(check, creds, "inflight");
  std::cout << "shutdown in flight: " << rows << " rows, " << seen.answered << " reported done"
            << std::endl;
  CHECK(rows == seen.answered);
  CHECK(seen.empty_texts == 0);
  for (auto& [code, count] : seen.failed_by_code) {
    INFO(code);
    CHECK(code == "shutting_down");
  }
  check.shutdown();
}
