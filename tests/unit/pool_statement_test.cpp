// The pool's statement request: a statement runs on a connection the pool picks, delegated to
// it (execute-and-release), and the connection goes back. It waits in the same FIFO queue as
// borrows, times out with the same error, is failed by shutdown and dropped when its sender
// dies, and a statement that dirties its session gets that session reset.
#include "pool_test_support.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

using namespace pool_test;

namespace {

pool_config quiet_pool(std::size_t max_size) {
  pool_config c;
  c.max_size = max_size;
  c.validation_bypass = std::chrono::hours(1); // no SELECT 1 unless a test asks for it
  c.shutdown_grace = 200ms;
  return c;
}

exec_outcome run_statement(caf::scoped_actor& self, const pool_actor& pool,
                           const std::string& sql) {
  exec_outcome out;
  self->request(pool, hang_guard, statement_atom::value, sql)
      .receive([&](query_result& r) { out.result = std::move(r); },
               [&](caf::error& e) { out.error = std::move(e); });
  return out;
}

// The fake's "state" row from a statement result.
fake_state state_in(const query_result& result) {
  const auto& rows = result.results.at(0).rows;
  auto at = [&](std::size_t c) { return std::get<std::int64_t>(rows.at(0, c)); };
  return fake_state{at(0), at(1), at(2), at(3)};
}

// An actor that sends one statement to the pool and waits for its answer until it dies.
caf::behavior statement_sender(caf::event_based_actor* self, pool_actor pool) {
  self->request(pool, hang_guard, statement_atom::value, std::string("SELECT 1"))
      .then([](query_result&) {}, [](caf::error&) {});
  return {[](tick_atom) {}};
}

} // namespace

TEST_CASE_METHOD(fixture, "pool statement: the result comes back and so does the connection",
                 "[pool][statement]") {
  auto pool = start(quiet_pool(1));
  constexpr int statements = 200;
  for (int i = 0; i < statements; ++i) {
    auto out = run_statement(self, pool, "SELECT 1");
    INFO("statement " << i << ": " << text_of(out.error));
    REQUIRE(out.result);
  }
  auto out = run_statement(self, pool, "state");
  REQUIRE(out.result);
  auto st = state_in(*out.result);
  CHECK(st.connection == 1);
  CHECK(st.executes == statements + 1);
  auto s = stats(self, pool);
  CHECK(s.opened == 1);
  CHECK(s.total == 1);
  CHECK(s.borrowed == statements + 1);
  CHECK(s.returned == statements + 1);
  CHECK(s.resets == 0); // clean statements cost no reset
  CHECK(s.leased == 0);
  CHECK(s.idle == 1);
  // A failing statement answers its error and still hands the connection back.
  CHECK(code(run_statement(self, pool, "fail").error) == pool_errc::server_error);
  s = stats(self, pool);
  CHECK(s.returned == statements + 2);
  CHECK(s.leased == 0);
  shutdown(self, pool);
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool statement: statement and borrow waiters share one FIFO queue",
                 "[pool][statement]") {
  auto pool = start(quiet_pool(1));
  auto held = must_borrow(self, pool);
  caf::scoped_actor stmt{sys}, borrower{sys};
  auto statement_reply =
      stmt->request(pool, hang_guard, statement_atom::value, std::string("state"));
  wait_for(self, pool, [](const pool_stats& s) { return s.waiting == 1; });
  auto lease_reply = borrower->request(pool, hang_guard, borrow_atom::value);
  wait_for(self, pool, [](const pool_stats& s) { return s.waiting == 2; });
  give_back(self, pool, held);
  // The statement waited first, so it runs first: it sees only the executes before it. The
  // borrow waits behind it, then gets the connection released by the statement.
  fake_state seen_by_statement;
  statement_reply.receive([&](query_result& r) { seen_by_statement = state_in(r); },
                          [&](caf::error& e) { FAIL("statement: " << text_of(e)); });
  lease got;
  lease_reply.receive([&](lease& l) { got = l; },
                      [&](caf::error& e) { FAIL("borrow: " << text_of(e)); });
  REQUIRE(got.id != 0);
  auto seen_by_borrower = state_of(borrower, got);
  CHECK(seen_by_statement.connection == 1);
  CHECK(seen_by_borrower.connection == 1);
  CHECK(seen_by_borrower.executes == seen_by_statement.executes + 1);
  give_back(borrower, pool, got);

  // The other order: a borrow waiter ahead of a statement waiter gets the connection first.
  held = must_borrow(self, pool);
  auto lease_first = borrower->request(pool, hang_guard, borrow_atom::value);
  wait_for(self, pool, [](const pool_stats& s) { return s.waiting == 1; });
  auto statement_second =
      stmt->request(pool, hang_guard, statement_atom::value, std::string("state"));
  wait_for(self, pool, [](const pool_stats& s) { return s.waiting == 2; });
  give_back(self, pool, held);
  lease second_lease;
  lease_first.receive([&](lease& l) { second_lease = l; },
                      [&](caf::error& e) { FAIL("borrow: " << text_of(e)); });
  REQUIRE(second_lease.id != 0);
  auto before = state_of(borrower, second_lease);
  CHECK(stats(self, pool).waiting == 1); // the statement still waits
  give_back(borrower, pool, second_lease);
  fake_state after;
  statement_second.receive([&](query_result& r) { after = state_in(r); },
                           [&](caf::error& e) { FAIL("statement: " << text_of(e)); });
  CHECK(after.executes == before.executes + 1);
  auto s = shutdown(self, pool);
  CHECK(s.opened == 1);
  CHECK(s.borrowed == 6);
}

TEST_CASE_METHOD(fixture, "pool statement: a waiting statement times out like a borrow",
                 "[pool][statement]") {
  auto config = quiet_pool(1);
  config.acquire_timeout = 50ms;
  auto pool = start(config);
  auto held = must_borrow(self, pool);
  caf::scoped_actor other{sys};
  auto out = run_statement(other, pool, "SELECT 1");
  REQUIRE_FALSE(out.result);
  CHECK(code(out.error) == pool_errc::acquire_timeout);
  auto text = context_of(out.error);
  CHECK_THAT(text, Catch::Contains("no connection within"));
  CHECK_THAT(text, Catch::Contains("total=1"));
  CHECK_THAT(text, Catch::Contains("leased=1"));
  CHECK_THAT(text, Catch::Contains("idle=0"));
  CHECK_THAT(text, Catch::Contains("opening=0"));
  CHECK_THAT(text, Catch::Contains("waiting=1"));
  CHECK_THAT(text, Catch::Contains("last_connect_error=none"));
  auto s = stats(self, pool);
  CHECK(s.timed_out_borrows == 1);
  CHECK(s.waiting == 0);
  CHECK(state_of(self, held).executes == 1); // this "state" only: the statement never ran
  give_back(self, pool, held);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool statement: shutdown fails waiting statements and refuses new ones",
                 "[pool][statement]") {
  auto pool = start(quiet_pool(1));
  auto held = must_borrow(self, pool);
  caf::scoped_actor waiter_a{sys}, waiter_b{sys};
  auto w1 = waiter_a->request(pool, hang_guard, statement_atom::value, std::string("SELECT 1"));
  auto w2 = waiter_b->request(pool, hang_guard, borrow_atom::value);
  wait_for(self, pool, [](const pool_stats& s) { return s.waiting == 2; });
  auto stopping = self->request(pool, hang_guard, shutdown_atom::value);
  pool_errc statement_code = pool_errc::none, borrow_code = pool_errc::none;
  w1.receive([&](query_result&) { FAIL("a statement ran during shutdown"); },
             [&](caf::error& e) { statement_code = code(e); });
  w2.receive([&](lease&) { FAIL("a lease during shutdown"); },
             [&](caf::error& e) { borrow_code = code(e); });
  CHECK(statement_code == pool_errc::shutting_down);
  CHECK(borrow_code == pool_errc::shutting_down);
  caf::scoped_actor late{sys};
  auto refused = run_statement(late, pool, "SELECT 1");
  CHECK(code(refused.error) == pool_errc::shutting_down);
  give_back(self, pool, held);
  stopping.receive([&](pool_stats& s) { CHECK(s.total == 0); },
                   [&](caf::error& e) { FAIL("shutdown: " << text_of(e)); });
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool statement: a sender that dies while its statement waits is dropped",
                 "[pool][statement][reclaim]") {
  auto pool = start(quiet_pool(1));
  auto held = must_borrow(self, pool);
  auto sender = sys.spawn(statement_sender, pool);
  wait_for(self, pool, [](const pool_stats& s) { return s.waiting == 1; });
  caf::anon_send_exit(sender, caf::exit_reason::kill);
  wait_for(self, pool, [](const pool_stats& s) { return s.waiting == 0; });
  give_back_synced(self, pool, held);
  auto s = stats(self, pool);
  CHECK(s.leased == 0);
  CHECK(s.idle == 1);
  CHECK(s.borrowed == 1); // the dropped statement never took the connection
  auto again = must_borrow(self, pool);
  CHECK(state_of(self, again).executes == 1); // this "state" only: the dropped one never ran
  give_back(self, pool, again);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool statement: a dirty statement is reset before the next borrower",
                 "[pool][statement][reset]") {
  auto pool = start(quiet_pool(1));
  REQUIRE(run_statement(self, pool, "dirty").result);
  auto next = must_borrow(self, pool);
  auto st = state_of(self, next);
  CHECK(st.connection == 1);
  CHECK(st.dirty == 0);
  CHECK(st.resets == 1);
  give_back(self, pool, next);
  REQUIRE(run_statement(self, pool, "dirty").result);
  auto out = run_statement(self, pool, "state");
  REQUIRE(out.result);
  CHECK(state_in(*out.result).dirty == 0);
  CHECK(state_in(*out.result).resets == 2);
  auto s = stats(self, pool);
  CHECK(s.resets == 2);
  CHECK(s.opened == 1);
  shutdown(self, pool);
}
