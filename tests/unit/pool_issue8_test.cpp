// The pool actor (shell and core together) against the fake backend on issue 8's defects,
// checked from the server's side (fake_plan::open_sessions()), not from the pool's counters.
#include "pool_test_support.hpp"

#include <algorithm>

using namespace pool_test;

namespace {

pool_config blocking_pool() {
  pool_config c;
  c.max_size = 1;
  c.validation_bypass = std::chrono::hours(1);
  c.reset_timeout = 50ms; // far below the backend's 300 ms calls
  c.close_timeout = 50ms;
  c.shutdown_grace = 200ms;
  return c;
}

} // namespace

TEST_CASE_METHOD(fixture,
                 "pool: a reset that outlives reset_timeout never lets the server hold more "
                 "than max_size sessions",
                 "[pool][defect2]") {
  plan->block_for = 300ms;   // every call of the backend but close takes this long
  plan->close_delay = 600ms; // and a close ends the session this long after it started
  auto pool = start(blocking_pool());
  auto first = must_borrow(self, pool);
  REQUIRE(execute(self, first, "dirty").result);
  // The connection is busy for 300 ms more when the pool's reset reaches it (a SELECT 1 from
  // elsewhere queues first), so the reset outlives reset_timeout by far: the pool ends the
  // connection at 50 ms. The connection actor traps that, cuts its running call short and
  // closes its session, and goes down only once the close is done: 600 ms later here, as a
  // disconnect's round trip or a server noticing a dropped socket. Until then the server still
  // holds the session, so no replacement may open. A pool that freed the slot on an early
  // DOWN would open one now, and its open (300 ms) ends well inside the close's 600 ms: the
  // server would hold 2 sessions.
  caf::anon_send(first.connection, validate_atom::value);
  give_back(self, pool, first);
  caf::scoped_actor other{sys};
  auto pending = other->request(pool, hang_guard, borrow_atom::value);
  std::size_t most = 0;
  wait_for(self, pool, [&](const pool_stats& s) {
    most = std::max(most, plan->open_sessions());
    return s.waiting == 0 && s.leased == 1;
  });
  most = std::max(most, plan->open_sessions());
  CHECK(most <= 1);
  lease second;
  pending.receive([&](lease& l) { second = l; },
                  [&](caf::error& e) { FAIL("second borrow failed: " << text_of(e)); });
  CHECK(state_of(self, second).connection == 2); // the killed one was replaced
  CHECK(plan->open_sessions() == 1);
  give_back(self, pool, second);
  shutdown(self, pool);
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool: shutdown answers only once every connection is down",
                 "[pool][shutdown]") {
  plan->block_for = 300ms;
  plan->close_delay = 300ms; // each session ends only this long after its close started
  auto pool = start(blocking_pool());
  auto held = must_borrow(self, pool);
  // A statement runs when shutdown starts; its borrower never gives the lease back.
  self->send(held.connection, execute_atom::value, held.id, std::string("SELECT 1"));
  auto s = shutdown(self, pool);
  CHECK(s.total == 0);
  CHECK(plan->open_sessions() == 0); // nothing left on the server when shutdown answers
}

TEST_CASE_METHOD(fixture, "pool: a full waiter queue refuses at once naming the counts",
                 "[pool][max_waiters]") {
  pool_config c;
  c.max_size = 1;
  c.max_waiters = 1;
  c.validation_bypass = std::chrono::hours(1);
  auto pool = start(c);
  auto held = must_borrow(self, pool);
  caf::scoped_actor other{sys};
  auto pending = other->request(pool, hang_guard, borrow_atom::value);
  wait_for(self, pool, [](const pool_stats& s) { return s.waiting == 1; });
  auto refused = borrow(self, pool);
  REQUIRE_FALSE(refused.granted);
  CHECK(code(refused.error) == pool_errc::too_many_waiters);
  CHECK_THAT(context_of(refused.error), Catch::Contains("max_waiters=1"));
  give_back(self, pool, held);
  pending.receive([&](lease& l) { give_back(other, pool, l); },
                  [&](caf::error& e) { FAIL("the waiter failed: " << text_of(e)); });
  shutdown(self, pool);
}
