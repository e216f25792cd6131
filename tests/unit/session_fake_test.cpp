// Session actors over the fake backend: a lease per statement (ended by the connection with
// the statement: execute-and-release), one lease held across a transaction, what a killed
// session held goes back, errors as exapool codes.
#include "runtime_fake_support.hpp"

#include "actors/session_actor.hpp"

using namespace exapool;
using namespace exapool::test;

TEST_CASE("session borrows per statement and the lease ends before it answers", "[session]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  auto creds = fake_credentials();
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);
  for (int i = 0; i < 10; ++i) {
    auto rows = ask<exasol::result_set>(self, session, query_atom::value, std::string("state"));
    CHECK(connection_number(rows) == 1); // one connection serves a sequential session
    auto stats = rt.stats(creds);
    CHECK(stats.leased == 0); // released at the connection before the reply went out
  }
  auto stats = rt.stats(creds);
  CHECK(stats.borrowed == 10);
  CHECK(stats.returned == 10);
  CHECK(stats.opened == 1);
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("session a statement that dirties the session: the next borrower finds it reset",
          "[session][release]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.max_size = 1;
  runtime rt{config};
  auto creds = fake_credentials();
  caf::scoped_actor self{rt.system()};
  auto first = rt.spawn_session(creds);
  auto second = rt.spawn_session(creds);
  ask<query_result>(self, first, execute_atom::value, std::string("dirty"));
  CHECK(rt.stats(creds).leased == 0);
  auto rows = ask<exasol::result_set>(self, second, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 1);
  CHECK(dirty_flag(rows) == 0);
  // A failing statement ends its lease too: the only connection serves on.
  auto err = ask_error<query_result>(self, first, execute_atom::value, std::string("fail"));
  CHECK(code_of(err) == pool_errc::server_error);
  rows = ask<exasol::result_set>(self, second, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 1);
  auto stats = rt.stats(creds);
  CHECK(stats.resets == 1);
  CHECK(stats.borrowed == 4);
  CHECK(stats.returned == 4);
  CHECK(stats.opened == 1);
  self->send_exit(first, caf::exit_reason::user_shutdown);
  self->send_exit(second, caf::exit_reason::user_shutdown);
}

TEST_CASE("session transaction holds one lease until commit", "[session][transaction]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  auto creds = fake_credentials();
  caf::scoped_actor self{rt.system()};
  auto tx = rt.spawn_session(creds);
  auto other = rt.spawn_session(creds);
  CHECK(ask<bool>(self, tx, begin_atom::value));
  CHECK(ask<bool>(self, tx, begin_atom::value)); // nested begin changes nothing
  CHECK(rt.stats(creds).leased == 1);
  auto mine = connection_number(ask<exasol::result_set>(self, tx, query_atom::value, "state"));
  for (int i = 0; i < 3; ++i) {
    auto theirs = ask<exasol::result_set>(self, other, query_atom::value, std::string("state"));
    CHECK(connection_number(theirs) != mine); // the held connection is nobody else's
    auto again = ask<exasol::result_set>(self, tx, query_atom::value, std::string("state"));
    CHECK(connection_number(again) == mine);
    CHECK(rt.stats(creds).leased == 1);
  }
  CHECK(ask<bool>(self, tx, commit_atom::value));
  CHECK(rt.stats(creds).leased == 0);
  CHECK(ask<bool>(self, tx, rollback_atom::value)); // nothing to end: fine
  auto after = ask<exasol::result_set>(self, tx, query_atom::value, std::string("state"));
  CHECK(rt.stats(creds).leased == 0); // back to a lease per statement
  CHECK(connection_number(after) >= 1);
  self->send_exit(tx, caf::exit_reason::user_shutdown);
  self->send_exit(other, caf::exit_reason::user_shutdown);
}

TEST_CASE("session killed mid-transaction: its lease goes back, reset", "[session][transaction]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.max_size = 1;
  runtime rt{config};
  auto creds = fake_credentials();
  caf::scoped_actor self{rt.system()};
  auto tx = rt.spawn_session(creds);
  CHECK(ask<bool>(self, tx, begin_atom::value));
  ask<query_result>(self, tx, execute_atom::value, std::string("dirty"));
  self->send_exit(tx, caf::exit_reason::kill);
  REQUIRE(eventually([&] { return rt.stats(creds).leased == 0; }));
  // The only connection serves the next session, reset to the baseline.
  auto next = rt.query(creds, "state");
  CHECK(connection_number(next) == 1);
  CHECK(dirty_flag(next) == 0);
  CHECK(rt.stats(creds).resets >= 1);
}

TEST_CASE("session errors are exapool errors with clear texts", "[session][errors]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.max_size = 1;
  config.pool.acquire_timeout = 100ms;
  runtime rt{config};
  auto creds = fake_credentials();
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);

  auto sql_error = ask_error<query_result>(self, session, execute_atom::value, std::string("fail"));
  CHECK(code_of(sql_error) == pool_errc::server_error);
  CHECK(context_of(sql_error).find("42000") != std::string::npos);

  auto no_rows = ask_error<exasol::result_set>(self, session, query_atom::value, "insert");
  CHECK(code_of(no_rows) == pool_errc::server_error);
  CHECK(context_of(no_rows).find("no result set") != std::string::npos);

  // One connection, held by a transaction: the next borrower times out with the counts.
  auto tx = rt.spawn_session(creds);
  CHECK(ask<bool>(self, tx, begin_atom::value));
  auto timeout = ask_error<query_result>(self, session, execute_atom::value, std::string("x"));
  CHECK(code_of(timeout) == pool_errc::acquire_timeout);
  CHECK(context_of(timeout).find("leased=1") != std::string::npos);

  // The blocking API throws the same code, with the code's name and the text.
  try {
    rt.execute(creds, "x");
    FAIL("no exception");
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::acquire_timeout);
    CHECK(std::string(e.what()).find("acquire_timeout") != std::string::npos);
    CHECK(std::string(e.what()).find("pw") == std::string::npos); // no secret in the text
  }
  CHECK(ask<bool>(self, tx, rollback_atom::value));
  CHECK(rt.execute(creds, "x").results.size() == 1);
  self->send_exit(tx, caf::exit_reason::user_shutdown);
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("session finds the restarted pool after its pool crashed", "[session][restart]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  auto creds = fake_credentials();
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);
  ask<query_result>(self, session, execute_atom::value, std::string("x"));
  auto pool = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds);
  self->send_exit(pool, caf::exit_reason::kill);
  // At once, before the supervisor may have seen the down message: the session's borrow
  // bounces, it reports the dead pool, the supervisor replaces it, the statement runs.
  auto rows = ask<exasol::result_set>(self, session, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 2); // a fresh connection of the fresh pool
  CHECK(rt.pool_restarts() == 1);      // one restart, however the news arrived
  CHECK(ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds) != pool);
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("session waiting in a pool that crashes is served by its successor",
          "[session][restart]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.max_size = 1;
  runtime rt{config};
  auto creds = fake_credentials();
  caf::scoped_actor holder{rt.system()};
  auto pool = ask<pool_actor>(holder, rt.supervisor(), pool_atom::value, creds);
  auto held = ask<lease>(holder, pool, borrow_atom::value); // the only one, never given back
  holder->monitor(held.connection);
  auto session = rt.spawn_session(creds);
  caf::scoped_actor waiter{rt.system()};
  auto waiting = waiter->request(session, hang_guard, query_atom::value, std::string("state"));
  REQUIRE(eventually([&] { return rt.stats(creds).waiting == 1; }));
  holder->send_exit(pool, caf::exit_reason::kill);
  std::int64_t served_by = 0;
  waiting.receive([&](exasol::result_set& rows) { served_by = connection_number(rows); },
                  [&](caf::error& err) { FAIL("the waiter failed: " << rt.system().render(err)); });
  CHECK(served_by == 2);
  bool closed = false; // the crashed pool's connection ended with it
  holder->receive([&](caf::down_msg& down) { closed = down.source == held.connection.address(); },
                  caf::after(hang_guard) >> [] {});
  CHECK(closed);
  CHECK(rt.pool_restarts() == 1);
  waiter->send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("session a transaction whose connection broke is over", "[session][transaction]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  auto creds = fake_credentials();
  caf::scoped_actor self{rt.system()};
  auto tx = rt.spawn_session(creds);
  CHECK(ask<bool>(self, tx, begin_atom::value));
  auto broken = ask_error<query_result>(self, tx, execute_atom::value, std::string("kill"));
  CHECK(code_of(broken) == pool_errc::connection_lost);
  CHECK(context_of(broken).find("transaction aborted") != std::string::npos);
  REQUIRE(eventually([&] { return rt.stats(creds).leased == 0; }));
  // The next statement runs outside any transaction, on a working connection.
  auto rows = ask<exasol::result_set>(self, tx, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 2);
  self->send_exit(tx, caf::exit_reason::user_shutdown);
}

TEST_CASE("session hang guards name what timed out and the limit", "[session][errors]") {
  auto plan = std::make_shared<fake_plan>();
  plan->block_for = 300ms; // a slow connection (every call takes 300 ms, on a timer)
  runtime rt{fake_runtime_config(plan)};
  auto creds = fake_credentials();
  session_config config;
  config.statement_timeout = 50ms;
  // A statement outside a transaction is one request to the pool: its guard covers the wait
  // for a connection and the statement.
  config.acquire_timeout = 50ms;
  auto session = spawn_session(rt.system(), rt.supervisor(), creds, config);
  caf::scoped_actor self{rt.system()};
  auto err = ask_error<query_result>(self, session, execute_atom::value, std::string("x"));
  // The session gave up on it: the statement is aborted, never reported as a lost connection.
  CHECK(code_of(err) == pool_errc::statement_aborted);
  CHECK_THAT(context_of(err), Catch::StartsWith("statement aborted: no answer within 100 ms"));
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

// Issue 8, item 1: the session's guard was max(socket_timeout, query_timeout) + slack, so a
// statement that ran longer (heartbeats keep the client waiting) was reported failed while it
// went on and committed. Without a query timeout a statement has no limit.
TEST_CASE("session a statement longer than the socket timeout is not reported failed",
          "[session][guard]") {
  auto plan = std::make_shared<fake_plan>();
  plan->detached = true; // no effect now: every fake can "sleep" (on a timer)
  runtime rt{fake_runtime_config(plan)};
  auto creds = fake_credentials();
  creds.socket_timeout = 50ms; // the client's limit on silence, not on the statement
  creds.query_timeout = 0ms;   // no limit on the statement
  session_config config;
  config.guard_slack = 50ms;
  config.acquire_timeout = 100ms;
  auto session = spawn_session(rt.system(), rt.supervisor(), creds, config);
  caf::scoped_actor self{rt.system()};
  auto result = ask<query_result>(self, session, execute_atom::value, std::string("sleep 600"));
  CHECK(result.results.size() == 1);
  // In a transaction too.
  CHECK(ask<bool>(self, session, begin_atom::value));
  CHECK(ask<query_result>(self, session, execute_atom::value, "sleep 600").results.size() == 1);
  CHECK(ask<bool>(self, session, commit_atom::value));
  CHECK(rt.stats(creds).opened == 1); // the connection was never given up on
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

// A session serves its requests one after another even when they arrive together: the second
// waits in the mailbox (skipped while the session is busy) instead of running beside the first.
TEST_CASE("session requests sent together are served one after another, in order",
          "[session][order]") {
  auto plan = std::make_shared<fake_plan>();
  plan->detached = true;
  runtime rt{fake_runtime_config(plan)}; // 5 connections: a second statement could run at once
  auto creds = fake_credentials();
  auto session = rt.spawn_session(creds);
  caf::scoped_actor self{rt.system()};
  auto started = std::chrono::steady_clock::now();
  auto slow = self->request(session, hang_guard, execute_atom::value, std::string("sleep 300"));
  auto quick = self->request(session, hang_guard, query_atom::value, std::string("state"));
  std::optional<std::chrono::steady_clock::duration> quick_after;
  quick.receive(
      [&](exasol::result_set&) { quick_after = std::chrono::steady_clock::now() - started; },
      [&](caf::error& e) { FAIL(rt.system().render(e)); });
  slow.receive([](query_result&) {}, [&](caf::error& e) { FAIL(rt.system().render(e)); });
  REQUIRE(quick_after);
  CHECK(*quick_after >= 300ms); // it waited for the first (a lower bound: never flaky)
  // A transaction sent in one go keeps its statements on its lease, in order.
  auto began = self->request(session, hang_guard, begin_atom::value);
  auto dirty = self->request(session, hang_guard, execute_atom::value, std::string("dirty"));
  auto inside = self->request(session, hang_guard, query_atom::value, std::string("state"));
  auto committed = self->request(session, hang_guard, commit_atom::value);
  auto fail = [&](caf::error& e) { FAIL(rt.system().render(e)); };
  began.receive([](bool ok) { CHECK(ok); }, fail);
  dirty.receive([](query_result&) {}, fail);
  inside.receive([](exasol::result_set& rows) { CHECK(dirty_flag(rows) == 1); }, fail);
  committed.receive([](bool ok) { CHECK(ok); }, fail);
  CHECK(rt.stats(creds).opened == 1); // one connection served it all
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

// Issue 8, item 1: a session that gives up on its statement tells the pool, which aborts the
// statement on its connection (abort_running), so nothing goes on running unseen and the
// connection serves the next borrower at once instead of after the statement.
TEST_CASE("session whose guard passes gets its statement aborted on the connection",
          "[session][guard][abort]") {
  auto plan = std::make_shared<fake_plan>();
  plan->detached = true;
  auto config = fake_runtime_config(plan);
  config.pool.max_size = 1;
  config.pool.acquire_timeout = 5s; // far below the statement's 60 s
  runtime rt{config};
  auto creds = fake_credentials();
  session_config impatient;
  impatient.statement_timeout = 100ms;
  impatient.acquire_timeout = 1s;
  auto giving_up = spawn_session(rt.system(), rt.supervisor(), creds, impatient);
  auto next = rt.spawn_session(creds);
  caf::scoped_actor self{rt.system()};
  auto err = ask_error<query_result>(self, giving_up, execute_atom::value, "sleep 60000");
  CHECK(code_of(err) == pool_errc::statement_aborted);
  // Outside a transaction: the only connection is free again once the abort has ended the
  // statement; it is the same connection (aborted, not killed).
  auto rows = ask<exasol::result_set>(self, next, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 1);
  // In a transaction: the lease stays the session's until it gives it back (the transaction
  // is over), and the statement is aborted all the same.
  REQUIRE(ask<bool>(self, giving_up, begin_atom::value));
  err = ask_error<query_result>(self, giving_up, execute_atom::value, "sleep 60000");
  CHECK(code_of(err) == pool_errc::statement_aborted);
  CHECK_THAT(context_of(err), Catch::Contains("transaction aborted"));
  rows = ask<exasol::result_set>(self, next, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 1);
  auto stats = rt.stats(creds);
  CHECK(stats.opened == 1);
  CHECK(plan->open_sessions() == 1);
  self->send_exit(giving_up, caf::exit_reason::user_shutdown);
  self->send_exit(next, caf::exit_reason::user_shutdown);
}

TEST_CASE("session statement guard: none without a query timeout, else above the client's",
          "[session][guard]") {
  credentials creds;
  creds.socket_timeout = 30s;
  session_config config;
  config.guard_slack = 10s;
  creds.query_timeout = 0s;
  CHECK_FALSE(statement_guard(creds, config));
  creds.query_timeout = 60s;
  auto grace = connection_options_of(creds).abort_grace; // the client's wait after abortQuery
  REQUIRE(statement_guard(creds, config));
  CHECK(*statement_guard(creds, config) == 30s + 60s + grace + 10s);
  config.statement_timeout = 5s; // set explicitly: taken as it is
  CHECK(*statement_guard(creds, config) == 5s);
}

// Issue 8, item 7: with autocommit off, a pooled statement's work was rolled back, unseen, by
// the reset when its connection went back to the pool.
TEST_CASE("session autocommit off: statements outside a transaction are refused",
          "[session][autocommit]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  auto creds = fake_credentials();
  creds.autocommit = false;
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);
  auto refused = ask_error<query_result>(self, session, execute_atom::value, std::string("x"));
  CHECK(code_of(refused) == pool_errc::invalid_config);
  CHECK_THAT(context_of(refused), Catch::Contains("autocommit is off"));
  CHECK(plan->created == 0); // nothing reached a server
  auto query = ask_error<exasol::result_set>(self, session, query_atom::value, "state");
  CHECK(code_of(query) == pool_errc::invalid_config);
  // Between begin and commit they run, on the one connection held.
  CHECK(ask<bool>(self, session, begin_atom::value));
  auto rows = ask<exasol::result_set>(self, session, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 1);
  CHECK(ask<bool>(self, session, commit_atom::value));
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

// Issue 8, item 7: reset checks only the attributes the protocol reports, so IMPERSONATE or an
// ALTER SESSION outside them reached the next borrower.
TEST_CASE("session IMPERSONATE and ALTER SESSION: the connection is closed, not passed on",
          "[session][session_change]") {
  auto sql = GENERATE(std::string("IMPERSONATE other_user"),
                      std::string("alter session set NLS_FIRST_DAY_OF_WEEK = 1"));
  CAPTURE(sql);
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.max_size = 1;
  runtime rt{config};
  auto creds = fake_credentials();
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);
  ask<query_result>(self, session, execute_atom::value, sql);
  // The next borrower gets a new server session; the changed one is closed (server's view).
  auto rows = ask<exasol::result_set>(self, session, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 2);
  CHECK(plan->open_sessions() == 1);
  // In a transaction the same: closed when the transaction gives it back.
  CHECK(ask<bool>(self, session, begin_atom::value));
  ask<query_result>(self, session, execute_atom::value, sql);
  CHECK(ask<bool>(self, session, commit_atom::value));
  rows = ask<exasol::result_set>(self, session, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 3);
  CHECK(plan->open_sessions() == 1);
  // An attribute that reset restores keeps the session.
  ask<query_result>(self, session, execute_atom::value, "ALTER SESSION SET QUERY_TIMEOUT = 9");
  rows = ask<exasol::result_set>(self, session, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 3);
  CHECK(dirty_flag(rows) == 0);
  self->send_exit(session, caf::exit_reason::user_shutdown);
}
