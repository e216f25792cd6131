// Deterministic tests of pool_core on a simulated clock, one per decision of issue 8: a slot is
// freed only when its connection actor is down (a close or reset that times out kills it and
// waits), reset has its own timeout, a session limit keeps serving, the waiter queue is
// bounded, a dead borrower's statement is aborted, shutdown covers its parts, and the phase
// table catches an illegal transition. No sleeps: time is a variable.
#include "actors/pool_core.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace exapool;
using namespace std::chrono_literals;

namespace {

using core_t = pool_core;
using fx = core_t::effect;
using kind = fx::kind;

// A core, a simulated clock, and the effects of the last events.
struct driver {
  core_t core;
  core_t::time_point now = core_t::time_point{} + std::chrono::hours(1);
  std::vector<fx> seen;

  explicit driver(core_t::config c) : core(c) {}

  // The effects since the last call.
  std::vector<fx>& take() {
    seen.clear();
    seen.swap(core.effects());
    return seen;
  }
  std::size_t count(kind k) {
    return static_cast<std::size_t>(
        std::count_if(seen.begin(), seen.end(), [k](const fx& e) { return e.what == k; }));
  }
  const fx* find(kind k) {
    for (auto& e : seen)
      if (e.what == k)
        return &e;
    return nullptr;
  }
  void advance(core_t::duration d) {
    now += d;
    core.timer(now);
  }
  // Opens slot s: the open effect was seen, the connection answers.
  core_t::borrow_answer borrow(core_t::borrower_id who = 1, core_t::want w = core_t::want::lease) {
    return core.borrow(now, who, w);
  }
  // A borrow that opens a connection and gets it: returns the lease id.
  std::uint64_t open_and_lease(core_t::borrower_id who = 1, core_t::want w = core_t::want::lease) {
    auto a = borrow(who, w);
    REQUIRE(a.what == core_t::borrow_answer::kind::queued);
    take();
    auto* open = find(kind::open);
    REQUIRE(open);
    auto slot = open->slot;
    core.opened(now, slot);
    take();
    auto* serve = find(kind::serve);
    REQUIRE(serve);
    REQUIRE(serve->waiter == a.waiter);
    return serve->lease_id;
  }
};

core_t::config quiet(std::size_t max_size) {
  core_t::config c;
  c.max_size = max_size;
  c.validation_bypass = std::chrono::hours(1);
  c.idle_timeout = 0s;
  c.max_lifetime = 0s;
  c.keepalive_interval = 0s;
  c.acquire_timeout = 60s;
  c.validation_timeout = 5s;
  c.reset_timeout = 30s;
  c.close_timeout = 10s;
  c.abort_grace = 2s;
  c.shutdown_grace = 5s;
  return c;
}

} // namespace

TEST_CASE("pool core: a reset that times out kills the connection and frees the slot only at "
          "its down",
          "[pool][pool_core][defect2]") {
  driver d(quiet(1));
  auto lease = d.open_and_lease();
  auto slot = core_t::slot_of(lease);
  d.core.released(d.now, lease, true); // dirty: reset
  d.take();
  REQUIRE(d.count(kind::reset) == 1);
  auto second = d.borrow(2);
  REQUIRE(second.what == core_t::borrow_answer::kind::queued);
  d.take();
  d.advance(31s); // past reset_timeout: the reset hangs behind a long ROLLBACK
  d.take();
  CHECK(d.count(kind::kill) == 1);
  // The connection actor is not down yet: its server session may be open, so the slot stays
  // taken and no replacement opens beyond max_size.
  CHECK(d.count(kind::open) == 0);
  CHECK(d.core.total() == 1);
  CHECK(d.core.phase_of(slot) == core_t::phase::closing);
  d.advance(5s);
  d.take();
  CHECK(d.count(kind::open) == 0);
  // A late reply of the killed connection changes nothing.
  d.core.reset_done(d.now, slot, true);
  d.take();
  CHECK(d.count(kind::serve) == 0);
  CHECK(d.core.total() == 1);
  d.core.connection_down(d.now, slot);
  d.take();
  REQUIRE(d.count(kind::open) == 1);
  d.core.opened(d.now, d.find(kind::open)->slot);
  d.take();
  auto* serve = d.find(kind::serve);
  REQUIRE(serve);
  CHECK(serve->waiter == second.waiter);
}

TEST_CASE("pool core: a close that times out kills, and the slot waits for the down",
          "[pool][pool_core][defect2]") {
  auto c = quiet(1);
  c.idle_timeout = 1s;
  driver d(c);
  auto lease = d.open_and_lease();
  auto slot = core_t::slot_of(lease);
  d.core.give_back(d.now, lease);
  d.take();
  d.now += 2s;
  d.core.tick(d.now); // idle too long: closed
  d.take();
  REQUIRE(d.count(kind::close) == 1);
  auto waiting = d.borrow(2);
  REQUIRE(waiting.what == core_t::borrow_answer::kind::queued);
  d.take();
  CHECK(d.count(kind::open) == 0); // the closing connection still counts against max_size
  d.advance(11s);                  // the close hangs past close_timeout
  d.take();
  CHECK(d.count(kind::kill) == 1);
  CHECK(d.count(kind::open) == 0);
  CHECK(d.core.total() == 1);
  d.core.connection_down(d.now, slot);
  d.take();
  CHECK(d.count(kind::open) == 1);
}

TEST_CASE("pool core: reset has its own timeout, not validation_timeout",
          "[pool][pool_core][reset_timeout]") {
  auto c = quiet(1);
  c.validation_timeout = 5s;
  c.reset_timeout = 30s;
  driver d(c);
  auto lease = d.open_and_lease();
  d.core.give_back(d.now, lease);
  d.core.dirty(d.now, lease); // too late for the lease: the idle connection is reset
  d.take();
  REQUIRE(d.count(kind::reset) == 1);
  d.advance(6s); // past validation_timeout: a long ROLLBACK is still fine
  d.take();
  CHECK(d.count(kind::kill) == 0);
  CHECK(d.core.phase_of(core_t::slot_of(lease)) == core_t::phase::resetting);
  d.advance(25s);
  d.take();
  CHECK(d.count(kind::kill) == 1);
}

TEST_CASE("pool core: a session limit below max_size keeps serving with the connections that "
          "exist",
          "[pool][pool_core][defect3]") {
  auto c = quiet(4);
  c.backoff_max = 5s;
  driver d(c);
  auto first = d.open_and_lease(1);
  auto second = d.open_and_lease(2);
  // The server allows 2 sessions: the third login is refused for its limit.
  auto third = d.borrow(3);
  REQUIRE(third.what == core_t::borrow_answer::kind::queued);
  d.take();
  auto* open = d.find(kind::open);
  REQUIRE(open);
  auto refused_slot = open->slot;
  d.core.open_failed(d.now, refused_slot, core_t::open_failure::session_limit,
                     "[08004] session limit reached");
  d.take();
  CHECK(d.count(kind::fail) == 0); // nobody fails: two connections are live
  CHECK(d.count(kind::kill) == 1); // the refused connection actor is stopped
  d.core.connection_down(d.now, refused_slot);
  d.take();
  CHECK(d.count(kind::open) == 0); // no retry storm against the limit
  // More borrowers queue instead of failing, and the pool does not try to grow for a while.
  auto fourth = d.borrow(4);
  CHECK(fourth.what == core_t::borrow_answer::kind::queued);
  d.take();
  CHECK(d.count(kind::open) == 0);
  d.advance(1s);
  d.take();
  CHECK(d.count(kind::open) == 0);
  // A connection comes back: the oldest waiter gets it, the next one the other.
  d.core.give_back(d.now, first);
  d.take();
  auto* served = d.find(kind::serve);
  REQUIRE(served);
  CHECK(served->waiter == third.waiter);
  d.core.released(d.now, second, false);
  d.take();
  served = d.find(kind::serve);
  REQUIRE(served);
  CHECK(served->waiter == fourth.waiter);
  // New borrows are not refused either.
  CHECK(d.borrow(5).what == core_t::borrow_answer::kind::queued);
}

TEST_CASE("pool core: a wrong password fails every waiter at once", "[pool][pool_core]") {
  driver d(quiet(2));
  auto a = d.borrow(1);
  auto b = d.borrow(2);
  d.take();
  auto* open = d.find(kind::open);
  REQUIRE(open);
  d.core.open_failed(d.now, open->slot, core_t::open_failure::auth, "login rejected");
  d.take();
  CHECK(d.count(kind::fail) == 2);
  for (auto& e : d.seen)
    if (e.what == kind::fail)
      CHECK(e.code == core_t::refusal::authentication_failed);
  (void)a;
  (void)b;
  CHECK(d.borrow(3).code == core_t::refusal::authentication_failed);
}

TEST_CASE("pool core: the waiter queue is bounded and refuses at once naming the counts",
          "[pool][pool_core][max_waiters]") {
  auto c = quiet(1);
  c.max_waiters = 2;
  driver d(c);
  d.open_and_lease(1);
  CHECK(d.borrow(2).what == core_t::borrow_answer::kind::queued);
  CHECK(d.borrow(3, core_t::want::statement).what == core_t::borrow_answer::kind::queued);
  auto refused = d.borrow(4);
  CHECK(refused.what == core_t::borrow_answer::kind::refused);
  CHECK(refused.code == core_t::refusal::too_many_waiters);
  CHECK_THAT(refused.text, Catch::Contains("waiting=2"));
  CHECK_THAT(refused.text, Catch::Contains("max_waiters=2"));
  CHECK_THAT(refused.text, Catch::Contains("leased=1"));
  CHECK(d.core.waiting() == 2);
}

TEST_CASE("pool core: max_waiters 0 still bounds the queue", "[pool][pool_core][max_waiters]") {
  auto c = quiet(1);
  c.max_waiters = 0;
  driver d(c);
  d.open_and_lease(1);
  CHECK(d.borrow(2).what == core_t::borrow_answer::kind::queued);
  CHECK(d.borrow(3).code == core_t::refusal::too_many_waiters);
}

TEST_CASE("pool core: a borrower that dies while its delegated statement runs gets it aborted",
          "[pool][pool_core][abort]") {
  driver d(quiet(1));
  auto lease = d.open_and_lease(7, core_t::want::statement);
  auto slot = core_t::slot_of(lease);
  d.core.borrower_down(d.now, 7);
  d.take();
  auto* abort = d.find(kind::abort);
  REQUIRE(abort);
  CHECK(abort->slot == slot);
  CHECK(d.count(kind::end_lease) == 0); // the connection releases it when the statement ends
  SECTION("the aborted statement ends: the connection is taken back") {
    d.core.released(d.now, lease, true);
    d.take();
    CHECK(d.count(kind::reset) == 1);
    d.advance(3s);
    d.take();
    CHECK(d.count(kind::kill) == 0);
  }
  SECTION("the statement ignores the abort: the connection is killed after abort_grace") {
    d.advance(1s);
    d.take();
    CHECK(d.count(kind::kill) == 0);
    d.advance(1500ms);
    d.take();
    CHECK(d.count(kind::kill) == 1);
    CHECK(d.core.total() == 1); // until the down
    d.core.connection_down(d.now, slot);
    CHECK(d.core.total() == 0);
  }
}

TEST_CASE("pool core: a borrower that dies holding a transaction lease gets its statement "
          "aborted and the connection reset",
          "[pool][pool_core][abort]") {
  driver d(quiet(1));
  auto lease = d.open_and_lease(7);
  d.core.borrower_down(d.now, 7);
  std::vector<fx> order; // what goes to the connection, in order (timers and log aside)
  for (auto& e : d.take())
    if (e.what != kind::arm_timer && e.what != kind::log)
      order.push_back(e);
  REQUIRE(order.size() == 3);
  CHECK(order[0].what == kind::abort);
  CHECK(order[1].what == kind::end_lease);
  CHECK(order[1].lease_id == lease);
  CHECK(order[2].what == kind::reset);
  CHECK(d.core.stats().reclaimed == 1);
}

TEST_CASE("pool core: a borrower that gives up gets its running statement aborted and its "
          "waits failed",
          "[pool][pool_core][abort]") {
  driver d(quiet(1));
  auto lease = d.open_and_lease(7, core_t::want::statement);
  auto waiting = d.borrow(7, core_t::want::statement);
  auto other = d.borrow(8);
  d.take();
  d.core.borrower_gave_up(d.now, 7);
  d.take();
  auto* abort = d.find(kind::abort);
  REQUIRE(abort);
  CHECK(abort->slot == core_t::slot_of(lease));
  auto* failed = d.find(kind::fail);
  REQUIRE(failed);
  CHECK(failed->waiter == waiting.waiter);
  CHECK(failed->code == core_t::refusal::statement_aborted);
  CHECK(d.count(kind::fail) == 1); // borrower 8 still waits
  CHECK(d.core.waiting() == 1);
  // The lease is still the borrower's: the connection releases it when the statement ends.
  d.core.released(d.now, lease, false);
  d.take();
  auto* served = d.find(kind::serve);
  REQUIRE(served);
  CHECK(served->waiter == other.waiter);
}

TEST_CASE("pool core: a delegated statement of a live borrower is not aborted",
          "[pool][pool_core][abort]") {
  driver d(quiet(1));
  d.open_and_lease(7, core_t::want::statement);
  d.core.borrower_down(d.now, 8); // somebody else
  d.take();
  CHECK(d.count(kind::abort) == 0);
}

TEST_CASE("pool core: shutdown is answered only when every connection is down, within its bound",
          "[pool][pool_core][shutdown]") {
  auto c = quiet(2);
  driver d(c);
  auto held = d.open_and_lease(1); // never given back
  auto other = d.open_and_lease(2);
  d.core.give_back(d.now, other); // idle
  d.take();
  auto start = d.now;
  d.core.shutdown(d.now);
  d.take();
  CHECK(d.count(kind::close) == 1); // the idle one
  CHECK(d.count(kind::shutdown_done) == 0);
  d.core.connection_down(d.now, core_t::slot_of(other));
  d.take();
  CHECK(d.count(kind::shutdown_done) == 0); // a lease is still out
  d.advance(5s);                            // grace over: abort, end the lease, close
  d.take();
  CHECK(d.count(kind::abort) == 1);
  CHECK(d.count(kind::end_lease) == 1);
  CHECK(d.count(kind::close) == 1);
  d.advance(2s + 10s); // the close hangs behind the statement: killed
  d.take();
  CHECK(d.count(kind::kill) == 1);
  CHECK(d.count(kind::shutdown_done) == 0);
  SECTION("the killed connection goes down: answered ok") {
    d.core.connection_down(d.now, core_t::slot_of(held));
    d.take();
    auto* done = d.find(kind::shutdown_done);
    REQUIRE(done);
    CHECK(done->ok);
  }
  SECTION("it never goes down: answered at the bound, naming it") {
    d.now = start + core_t::shutdown_bound(c) - 1ms;
    d.core.timer(d.now);
    d.take();
    CHECK(d.count(kind::shutdown_done) == 0);
    d.advance(1ms);
    d.take();
    auto* done = d.find(kind::shutdown_done);
    REQUIRE(done);
    CHECK_FALSE(done->ok);
    CHECK_THAT(done->text, Catch::Contains("did not end"));
  }
  CHECK(core_t::shutdown_bound(c) == 5s + 2s + 2 * 10s);
}

TEST_CASE("pool core: the phase table refuses an illegal transition", "[pool][pool_core][phases]") {
  using p = core_t::phase;
  CHECK_THROWS_AS(core_t::check_transition(p::free, p::leased), std::logic_error);
  CHECK_THROWS_AS(core_t::check_transition(p::closing, p::idle), std::logic_error);
  CHECK_THROWS_AS(core_t::check_transition(p::opening, p::resetting), std::logic_error);
  CHECK_THROWS_WITH(core_t::check_transition(p::closing, p::leased),
                    Catch::Contains("closing -> leased"));
  CHECK_NOTHROW(core_t::check_transition(p::closing, p::free));
  CHECK_NOTHROW(core_t::check_transition(p::leased, p::resetting));
  // Only the down frees a slot: nothing else leads to free but from a live phase.
  CHECK_FALSE(core_t::allowed(p::free, p::free));
}

TEST_CASE("pool core: the pool vouches for its credentials only while a connection logged in "
          "with them is open and no login was refused since",
          "[pool][pool_core][proxy]") {
  driver d(quiet(2));
  CHECK_FALSE(d.core.vouches()); // nothing proven yet
  auto first = d.borrow(1);
  d.take();
  CHECK_FALSE(d.core.vouches()); // opening is not proof
  auto* open = d.find(kind::open);
  REQUIRE(open);
  auto slot = open->slot;
  d.core.opened(d.now, slot);
  d.take();
  CHECK(d.core.vouches()); // leased to borrower 1
  auto* served = d.find(kind::serve);
  REQUIRE(served);
  REQUIRE(served->waiter == first.waiter);
  d.core.released(d.now, served->lease_id, false);
  d.take();
  CHECK(d.core.vouches()); // idle
  // The password changed upstream: the next login with it is refused, and the open connection
  // no longer speaks for the credentials.
  auto a = d.borrow(2); // the idle connection
  REQUIRE(a.what == core_t::borrow_answer::kind::granted);
  auto second = d.borrow(3);
  REQUIRE(second.what == core_t::borrow_answer::kind::queued);
  d.take();
  auto* reopen = d.find(kind::open);
  REQUIRE(reopen);
  d.core.open_failed(d.now, reopen->slot, core_t::open_failure::auth, "login rejected");
  d.take();
  CHECK_FALSE(d.core.vouches());
  (void)a;
}

TEST_CASE("pool core: an untrusted server certificate fails every waiter at once, and borrows "
          "are refused until the backoff is over",
          "[pool][pool_core]") {
  driver d(quiet(2));
  auto a = d.borrow(1);
  auto b = d.borrow(2);
  REQUIRE(a.what == core_t::borrow_answer::kind::queued);
  REQUIRE(b.what == core_t::borrow_answer::kind::queued);
  d.take();
  auto* open = d.find(kind::open);
  REQUIRE(open);
  d.core.open_failed(d.now, open->slot, core_t::open_failure::untrusted, "certificate");
  d.take();
  CHECK(d.count(kind::fail) == 2);
  for (auto& e : d.seen)
    if (e.what == kind::fail)
      CHECK(e.code == core_t::refusal::untrusted_server);
  CHECK(d.borrow(3).code == core_t::refusal::untrusted_server);
  d.advance(1h); // past any backoff: a borrow tries again
  CHECK(d.borrow(4).what == core_t::borrow_answer::kind::queued);
}

// --- the log (issue 11): each pool event once, never once per query ------------------------

namespace {

std::vector<std::string> log_lines(const std::vector<fx>& effects, log_level at_least) {
  std::vector<std::string> out;
  for (const auto& e : effects)
    if (e.what == kind::log && e.level >= at_least)
      out.push_back(e.text);
  return out;
}

} // namespace

TEST_CASE("pool core: connect failures are logged with their cause, at most once per "
          "log_interval, and the recovery once",
          "[pool][pool_core][log]") {
  auto c = quiet(1);
  c.log_interval = 10s;
  c.backoff_initial = 10ms;
  c.backoff_max = 10ms;
  driver d(c);
  std::vector<fx> all;
  d.borrow(1);
  for (int attempt = 0; attempt < 5; ++attempt) {
    d.take();
    all.insert(all.end(), d.seen.begin(), d.seen.end());
    auto* open = d.find(kind::open);
    REQUIRE(open);
    d.core.open_failed(d.now, open->slot, core_t::open_failure::other, "connection refused");
    d.core.connection_down(d.now, open->slot);
    d.advance(20ms); // past the backoff: the pool tries again for its waiter
  }
  d.take();
  all.insert(all.end(), d.seen.begin(), d.seen.end());
  auto warnings = log_lines(all, log_level::warn);
  REQUIRE(warnings.size() == 1); // five failures within 10 s: one line
  CHECK_THAT(warnings[0], Catch::Contains("cannot open a connection (connect failed, attempt 1)"));
  CHECK_THAT(warnings[0], Catch::Contains("connection refused"));
  // 10 s later the next failure is logged again, with the count of the ones left out.
  auto* open = d.find(kind::open);
  REQUIRE(open);
  d.now += 10s;
  d.core.open_failed(d.now, open->slot, core_t::open_failure::other, "connection refused");
  d.take();
  auto next = log_lines(d.seen, log_level::warn);
  REQUIRE(next.size() == 1);
  CHECK_THAT(next[0], Catch::Contains("more like it since the last line"));
  d.core.connection_down(d.now, open->slot);
  d.advance(20ms);
  d.take();
  open = d.find(kind::open);
  REQUIRE(open);
  d.core.opened(d.now, open->slot);
  d.take();
  auto info = log_lines(d.seen, log_level::info);
  REQUIRE(info.size() == 1);
  CHECK_THAT(info[0], Catch::Contains("opened after"));
}

TEST_CASE("pool core: a rejected login is logged as such", "[pool][pool_core][log]") {
  driver d(quiet(1));
  d.borrow(1);
  d.take();
  auto* open = d.find(kind::open);
  REQUIRE(open);
  d.core.open_failed(d.now, open->slot, core_t::open_failure::auth, "[08004] login rejected");
  d.take();
  auto warnings = log_lines(d.seen, log_level::warn);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("the server refused the credentials"));
  CHECK_THAT(warnings[0], Catch::Contains("08004"));
}

TEST_CASE("pool core: a lease taken back from a dead borrower is logged naming it",
          "[pool][pool_core][log]") {
  driver d(quiet(1));
  d.open_and_lease(7);
  d.core.borrower_down(d.now, 7);
  d.take();
  const fx* line = nullptr;
  for (auto& e : d.seen)
    if (e.what == kind::log && e.level == log_level::warn)
      line = &e;
  REQUIRE(line);
  CHECK(line->borrower == 7);
  CHECK_THAT(line->text, Catch::Contains("taking back a lease"));
}

TEST_CASE("pool core: acquire timeouts are logged with the counts, not once per borrow",
          "[pool][pool_core][log]") {
  auto c = quiet(1);
  c.acquire_timeout = 1s;
  c.log_interval = 10s;
  driver d(c);
  d.open_and_lease(1);
  for (core_t::borrower_id who = 2; who < 12; ++who)
    d.borrow(who);
  d.take();
  d.advance(1s);
  d.take();
  CHECK(d.count(kind::fail) == 10);
  auto warnings = log_lines(d.seen, log_level::warn);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("a borrow timed out"));
  CHECK_THAT(warnings[0], Catch::Contains("leased=1"));
}

TEST_CASE("pool core: a lease held past the leak threshold is logged once, naming its borrower",
          "[pool][pool_core][log]") {
  auto c = quiet(1);
  c.leak_threshold = 5s;
  driver d(c);
  d.open_and_lease(3);
  d.now += 4s;
  d.core.tick(d.now);
  d.take();
  CHECK(log_lines(d.seen, log_level::warn).empty());
  d.now += 2s;
  d.core.tick(d.now);
  d.take();
  const fx* line = nullptr;
  for (auto& e : d.seen)
    if (e.what == kind::log && e.level == log_level::warn)
      line = &e;
  REQUIRE(line);
  CHECK(line->borrower == 3);
  CHECK_THAT(line->text, Catch::Contains("beyond the leak threshold (5000 ms)"));
  d.now += 10s;
  d.core.tick(d.now);
  d.take();
  CHECK(log_lines(d.seen, log_level::warn).empty()); // once per lease
}

TEST_CASE("pool core: no leak is logged without a threshold", "[pool][pool_core][log]") {
  driver d(quiet(1));
  d.open_and_lease(3);
  d.now += std::chrono::hours(5);
  d.core.tick(d.now);
  d.take();
  CHECK(log_lines(d.seen, log_level::warn).empty());
}

// initialization-fail-timeout relies on prewarm saying whether connections opened: one that
// min_idle is still opening is waited for, not counted as opened in advance.
TEST_CASE("pool core: prewarm waits for connections min_idle is opening, and reports refusals",
          "[pool][pool_core][prewarm]") {
  auto config = quiet(3);
  config.min_idle = 2;
  driver d(config);
  d.core.start(d.now);
  d.take();
  std::vector<core_t::slot_id> opening;
  for (auto& e : d.seen)
    if (e.what == kind::open)
      opening.push_back(e.slot);
  REQUIRE(opening.size() == 2);
  auto job = d.core.prewarm(d.now, 2);
  REQUIRE(job != 0);
  d.take();
  CHECK(d.count(kind::open) == 0);         // nothing more to open: both are on their way
  CHECK(d.count(kind::prewarm_done) == 0); // and not reported opened before they are
  d.core.opened(d.now, opening[0]);
  d.take();
  CHECK(d.count(kind::prewarm_done) == 0);
  SECTION("the second opens") {
    d.core.opened(d.now, opening[1]);
    d.take();
    auto* done = d.find(kind::prewarm_done);
    REQUIRE(done);
    CHECK(done->job == job);
    CHECK(done->opened == 2);
    CHECK(done->failures.empty());
  }
  SECTION("the second is refused: the report carries the refusal") {
    d.core.open_failed(d.now, opening[1], core_t::open_failure::auth, "08004 refused");
    d.take();
    auto* done = d.find(kind::prewarm_done);
    REQUIRE(done);
    CHECK(done->opened == 1);
    REQUIRE(done->failures.size() == 1);
    CHECK(done->code == core_t::refusal::authentication_failed);
  }
}
