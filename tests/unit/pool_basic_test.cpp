// The pool actor against the deterministic fake backend: borrow, give back, reuse, FIFO
// waiters, acquire timeout, the max_size invariant, stale leases, shutdown.
#include "pool_test_support.hpp"

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace pool_test;

namespace {

pool_config small_pool(std::size_t max_size) {
  pool_config c;
  c.max_size = max_size;
  c.validation_bypass = std::chrono::hours(1); // no SELECT 1 unless a test asks for it
  return c;
}

using borrow_handle = decltype(std::declval<caf::scoped_actor&>()->request(
    std::declval<const pool_actor&>(), hang_guard, borrow_atom::value));

// Borrowers, each with a borrow queued at the pool (in this order) until it is served.
struct queued_borrowers {
  std::vector<std::unique_ptr<caf::scoped_actor>> actors;
  std::vector<borrow_handle> pending;
};

queued_borrowers queue_borrowers(caf::actor_system& sys, caf::scoped_actor& watcher,
                                 const pool_actor& pool, std::size_t n) {
  queued_borrowers q;
  for (std::size_t i = 0; i < n; ++i) {
    q.actors.push_back(std::make_unique<caf::scoped_actor>(sys));
    q.pending.push_back((*q.actors.back())->request(pool, hang_guard, borrow_atom::value));
  }
  wait_for(watcher, pool, [n](const pool_stats& s) { return s.waiting == n; });
  return q;
}

// The lease a queued borrow was answered with; fails the test on an error.
lease served(borrow_handle& pending, const std::string& who) {
  lease got;
  pending.receive([&](lease& l) { got = l; },
                  [&](caf::error& e) { FAIL(who << ": " << to_string(e)); });
  REQUIRE(got.id != 0);
  return got;
}

} // namespace

TEST_CASE_METHOD(fixture, "pool: borrow opens a connection and give_back makes it idle", "[pool]") {
  auto pool = start(small_pool(2));
  caf::scoped_actor self{sys};
  auto l = must_borrow(self, pool);
  CHECK(l.id != 0);
  auto s = stats(self, pool);
  CHECK(s.total == 1);
  CHECK(s.leased == 1);
  CHECK(s.opened == 1);
  CHECK(execute(self, l, "SELECT 1").result);
  give_back(self, pool, l);
  s = stats(self, pool);
  CHECK(s.leased == 0);
  CHECK(s.idle == 1);
  CHECK(s.returned == 1);
  auto closed = shutdown(self, pool);
  CHECK(closed.total == 0);
  CHECK(closed.closed == 1);
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool: a returned connection is reused, not reopened", "[pool]") {
  auto pool = start(small_pool(3));
  caf::scoped_actor self{sys};
  auto first = must_borrow(self, pool);
  auto number = state_of(self, first).connection;
  give_back(self, pool, first);
  for (int i = 0; i < 10; ++i) {
    auto again = must_borrow(self, pool);
    CHECK(again.id != first.id);
    CHECK(state_of(self, again).connection == number);
    give_back(self, pool, again);
  }
  auto s = stats(self, pool);
  CHECK(s.opened == 1);
  CHECK(s.borrowed == 11);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: a returned lease is refused by its connection", "[pool]") {
  auto pool = start(small_pool(1));
  caf::scoped_actor self{sys};
  auto old = must_borrow(self, pool);
  give_back_synced(self, pool, old);
  auto stale = execute(self, old, "SELECT 1");
  CHECK_FALSE(stale.result);
  CHECK(code(stale.error) == pool_errc::stale_lease);
  // Also when the connection went straight to the next borrower.
  auto next = must_borrow(self, pool);
  CHECK(next.connection == old.connection);
  stale = execute(self, old, "SELECT 1");
  CHECK(code(stale.error) == pool_errc::stale_lease);
  CHECK(execute(self, next, "SELECT 1").result);
  // A second give_back of the old lease does not end the new one.
  give_back(self, pool, old);
  CHECK(execute(self, next, "SELECT 1").result);
  CHECK(stats(self, pool).leased == 1);
  give_back(self, pool, next);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: a lease that ended with its statement is refused after",
                 "[pool][release]") {
  auto pool = start(small_pool(1));
  auto l = must_borrow(self, pool);
  REQUIRE(execute_release(self, l, "SELECT 1").result);
  // The connection told the pool before it replied: the lease is over already.
  auto s = stats(self, pool);
  CHECK(s.leased == 0);
  CHECK(s.returned == 1);
  auto stale = execute(self, l, "SELECT 1");
  CHECK_FALSE(stale.result);
  CHECK(code(stale.error) == pool_errc::stale_lease);
  CHECK(code(execute_release(self, l, "SELECT 1").error) == pool_errc::stale_lease);
  CHECK(code(execute(self, lease{l.connection, 0}, "SELECT 1").error) == pool_errc::stale_lease);
  // Also once the connection serves the next borrower; and a give_back of the ended lease
  // does not end the new one.
  auto next = must_borrow(self, pool);
  CHECK(next.connection == l.connection);
  CHECK(next.id > l.id);
  CHECK(code(execute(self, l, "SELECT 1").error) == pool_errc::stale_lease);
  give_back(self, pool, l);
  CHECK(execute(self, next, "SELECT 1").result);
  CHECK(stats(self, pool).leased == 1);
  give_back_synced(self, pool, next);
  CHECK(code(execute(self, next, "SELECT 1").error) == pool_errc::stale_lease);
  s = stats(self, pool);
  CHECK(s.returned == 2);
  CHECK(s.borrowed == 2);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: many released statements on a pool of 1 reuse one connection",
                 "[pool][release]") {
  auto pool = start(small_pool(1));
  constexpr int statements = 200;
  for (int i = 0; i < statements; ++i) {
    auto l = must_borrow(self, pool); // never waits: the release came before the reply
    REQUIRE(execute_release(self, l, "SELECT 1").result);
  }
  auto s = stats(self, pool);
  CHECK(s.opened == 1);
  CHECK(s.total == 1);
  CHECK(s.borrowed == statements);
  CHECK(s.returned == statements);
  CHECK(s.resets == 0); // clean releases cost no reset
  CHECK(s.leased == 0);
  shutdown(self, pool);
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool: waiters are served in FIFO order", "[pool]") {
  auto pool = start(small_pool(1));
  caf::scoped_actor holder{sys};
  auto held = must_borrow(holder, pool);
  auto waiters = queue_borrowers(sys, holder, pool, 5);
  give_back(holder, pool, held);
  // Each waiter in turn gets the one connection and gives it back; a waiter served out of
  // order would leave the next receive without a lease until the hang guard fails it.
  for (std::size_t i = 0; i < waiters.actors.size(); ++i) {
    auto got = served(waiters.pending[i], "waiter " + std::to_string(i));
    CHECK(stats(*waiters.actors[i], pool).waiting == waiters.actors.size() - i - 1);
    give_back(*waiters.actors[i], pool, got);
  }
  auto s = shutdown(holder, pool);
  CHECK(s.opened == 1);
  CHECK(s.borrowed == 6);
  // Five borrows waited: the wait percentiles see them, in order.
  CHECK(s.wait_max > caf::timespan{0});
  CHECK(s.wait_p50 <= s.wait_p99);
  CHECK(s.wait_p99 <= s.wait_max);
}

TEST_CASE_METHOD(fixture,
                 "pool: waiters that give up leave the queue, the rest are served in order",
                 "[pool]") {
  auto pool = start(small_pool(1));
  caf::scoped_actor holder{sys};
  auto held = must_borrow(holder, pool);
  auto waiters = queue_borrowers(sys, holder, pool, 5);
  // The first and a middle one give up: their borrows fail, the others keep their places.
  for (std::size_t quitter : {std::size_t{0}, std::size_t{2}}) {
    (*waiters.actors[quitter])->send(pool, abort_atom::value);
    caf::error refused;
    waiters.pending[quitter].receive([&](lease&) { FAIL("waiter " << quitter << " got a lease"); },
                                     [&](caf::error& e) { refused = e; });
    CHECK(code(refused) == pool_errc::statement_aborted); // at once, not the hang guard
  }
  wait_for(holder, pool, [](const pool_stats& s) { return s.waiting == 3; });
  give_back(holder, pool, held);
  for (std::size_t i : {std::size_t{1}, std::size_t{3}, std::size_t{4}})
    give_back(*waiters.actors[i], pool, served(waiters.pending[i], "waiter " + std::to_string(i)));
  // The queue emptied: a later wait starts afresh and is served too.
  held = must_borrow(holder, pool);
  auto& late = *waiters.actors[1];
  auto pending = late->request(pool, hang_guard, borrow_atom::value);
  wait_for(holder, pool, [](const pool_stats& s) { return s.waiting == 1; });
  give_back(holder, pool, held);
  give_back(late, pool, served(pending, "late waiter"));
  auto s = shutdown(holder, pool);
  CHECK(s.borrowed == 6); // the holder twice, waiters 1, 3 and 4, then 1 again
}

TEST_CASE_METHOD(fixture, "pool: acquire timeout names the counts", "[pool]") {
  auto config = small_pool(1);
  config.acquire_timeout = 50ms;
  auto pool = start(config);
  caf::scoped_actor self{sys};
  auto held = must_borrow(self, pool);
  caf::scoped_actor other{sys};
  auto out = borrow(other, pool);
  REQUIRE_FALSE(out.granted);
  CHECK(code(out.error) == pool_errc::acquire_timeout);
  auto text = context_of(out.error);
  CHECK_THAT(text, Catch::Contains("total=1"));
  CHECK_THAT(text, Catch::Contains("leased=1"));
  CHECK_THAT(text, Catch::Contains("idle=0"));
  CHECK_THAT(text, Catch::Contains("opening=0"));
  CHECK_THAT(text, Catch::Contains("waiting=1"));
  CHECK_THAT(text, Catch::Contains("last_connect_error=none"));
  auto s = stats(self, pool);
  CHECK(s.timed_out_borrows == 1);
  CHECK(s.waiting == 0);
  give_back(self, pool, held);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: max_size is never exceeded in a random sequence", "[pool]") {
  constexpr std::size_t max_size = 4;
  auto pool = start(small_pool(max_size));
  std::mt19937 random{12345};
  // Borrowers with at most one outstanding request each; a lease is held until given back.
  struct borrower {
    std::unique_ptr<caf::scoped_actor> self;
    std::optional<lease> held;
    bool waiting = false;
  };
  std::vector<borrower> borrowers(10);
  for (auto& b : borrowers)
    b.self = std::make_unique<caf::scoped_actor>(sys);
  caf::scoped_actor observer{sys};
  std::size_t leases_seen = 0;
  for (int step = 0; step < 400; ++step) {
    auto& b = borrowers[random() % borrowers.size()];
    if (b.held) {
      give_back(*b.self, pool, *b.held);
      b.held.reset();
    } else if (!b.waiting) {
      (*b.self)->send(pool, borrow_atom::value); // the reply arrives as an ordinary message
      b.waiting = true;
    }
    // Once the pool has answered this stats request, every lease it granted so far is in its
    // borrower's mailbox.
    auto s = stats(observer, pool);
    for (auto& w : borrowers) {
      if (!w.waiting || (*w.self)->mailbox().empty())
        continue;
      (*w.self)->receive([&](lease& l) { w.held = l, w.waiting = false, ++leases_seen; });
    }
    check_invariant(s);
    std::size_t held = 0;
    for (auto& w : borrowers)
      held += w.held ? 1 : 0;
    CHECK(held <= max_size);
  }
  CHECK(leases_seen > 50);
  // Give everything back; waiting borrowers get a lease as the others return theirs.
  for (auto& b : borrowers)
    if (b.held)
      give_back(*b.self, pool, *b.held);
  for (auto& b : borrowers)
    if (b.waiting)
      (*b.self)->receive([&](lease& l) { give_back(*b.self, pool, l); },
                         [&](caf::error& e) { FAIL(to_string(e)); });
  auto s = shutdown(observer, pool);
  CHECK(s.opened <= max_size);
  CHECK(s.total == 0);
}

TEST_CASE_METHOD(fixture, "pool: shutdown answers waiters and closes every connection", "[pool]") {
  auto config = small_pool(2);
  config.shutdown_grace = 100ms;
  auto pool = start(config);
  caf::scoped_actor self{sys};
  auto a = must_borrow(self, pool);
  auto b = must_borrow(self, pool);
  give_back(self, pool, b);
  caf::scoped_actor waiter_a{sys}, waiter_b{sys};
  auto held_by_waiter = must_borrow(waiter_b, pool); // takes the idle one
  auto w1 = waiter_a->request(pool, hang_guard, borrow_atom::value);
  auto w2 = waiter_b->request(pool, hang_guard, borrow_atom::value);
  wait_for(self, pool, [](const pool_stats& s) { return s.waiting == 2; });
  auto final_stats = shutdown(self, pool); // replies after the grace period closes the leased
  CHECK(final_stats.total == 0);
  CHECK(final_stats.closed == 2);
  for (auto* handle : {&w1, &w2}) {
    pool_errc got = pool_errc::none;
    handle->receive([&](lease&) { FAIL("a lease during shutdown"); },
                    [&](caf::error& e) { got = code(e); });
    CHECK(got == pool_errc::shutting_down);
  }
  // The leases held through shutdown are dead.
  CHECK_FALSE(execute(self, a, "SELECT 1").result);
  CHECK_FALSE(execute(self, held_by_waiter, "SELECT 1").result);
  CHECK(plan->open_sessions() == 0);
  // The pool is gone: a late borrow gets an error, never a hang.
  auto late = borrow(self, pool);
  CHECK_FALSE(late.granted);
}

TEST_CASE_METHOD(fixture, "pool: borrow during shutdown is refused with a clear error", "[pool]") {
  auto config = small_pool(1);
  config.shutdown_grace = std::chrono::seconds(30);
  auto pool = start(config);
  caf::scoped_actor self{sys};
  auto held = must_borrow(self, pool);
  auto pending = self->request(pool, hang_guard, shutdown_atom::value);
  caf::scoped_actor other{sys};
  auto refused = borrow(other, pool);
  CHECK(code(refused.error) == pool_errc::shutting_down);
  give_back(self, pool, held); // returning ends the drain at once
  pool_stats s;
  pending.receive([&](pool_stats& x) { s = x; }, [&](caf::error& e) { FAIL(to_string(e)); });
  CHECK(s.total == 0);
  CHECK(plan->open_sessions() == 0);
}
