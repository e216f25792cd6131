// The pool actor's connection life cycle against the fake backend: reset of dirty sessions
// (given back or released with their statement), validation, replacement, reclaiming from dead
// borrowers, connect failures and backoff, authentication failures, min_idle, idle timeout,
// max lifetime, keepalive, prewarm, and a pool that dies with requests pending.
#include "pool_test_support.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <memory>
#include <mutex>
#include <vector>

using namespace pool_test;

namespace {

pool_config quiet_pool(std::size_t max_size) {
  pool_config c;
  c.max_size = max_size;
  c.validation_bypass = std::chrono::hours(1);
  c.shutdown_grace = 200ms;
  return c;
}

using hold_atom = caf::atom_constant<caf::atom("hold")>;

// A borrower that takes a lease, reports it to `report_to`, and holds it until it dies.
caf::behavior holding_borrower(caf::event_based_actor* self, pool_actor pool,
                               caf::actor report_to) {
  self->request(pool, hang_guard, borrow_atom::value)
      .then([self, report_to](lease& l) { self->send(report_to, hold_atom::value, l); },
            [self](caf::error&) { self->quit(); });
  return {[](hold_atom) {}};
}

} // namespace

TEST_CASE_METHOD(fixture, "pool: a dirty session is reset before the next borrower",
                 "[pool][reset]") {
  auto pool = start(quiet_pool(1));
  auto l = must_borrow(self, pool);
  REQUIRE(execute(self, l, "dirty").result);
  give_back(self, pool, l);
  auto next = must_borrow(self, pool);
  auto st = state_of(self, next);
  CHECK(st.connection == 1);
  CHECK(st.dirty == 0);
  CHECK(st.resets == 1);
  auto s = stats(self, pool);
  CHECK(s.resets == 1);
  CHECK(s.opened == 1);
  give_back(self, pool, next);
  // A clean return costs no reset.
  auto third = must_borrow(self, pool);
  CHECK(state_of(self, third).resets == 1);
  give_back(self, pool, third);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: a dirty released statement is reset before the next borrower",
                 "[pool][reset][release]") {
  auto pool = start(quiet_pool(1));
  auto l = must_borrow(self, pool);
  REQUIRE(execute_release(self, l, "dirty").result);
  auto next = must_borrow(self, pool);
  auto st = state_of(self, next);
  CHECK(st.connection == 1);
  CHECK(st.dirty == 0);
  CHECK(st.resets == 1);
  auto s = stats(self, pool);
  CHECK(s.resets == 1);
  CHECK(s.returned == 1);
  give_back(self, pool, next);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: a failing released statement still ends its lease",
                 "[pool][release][failure]") {
  auto pool = start(quiet_pool(1));
  auto l = must_borrow(self, pool);
  auto failed = execute_release(self, l, "fail");
  CHECK(code(failed.error) == pool_errc::server_error);
  auto s = stats(self, pool);
  CHECK(s.leased == 0);
  CHECK(s.returned == 1);
  CHECK(code(execute(self, l, "SELECT 1").error) == pool_errc::stale_lease);
  auto next = must_borrow(self, pool);
  CHECK(state_of(self, next).connection == 1); // a server error leaves the session usable
  give_back(self, pool, next);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: a begin under a lease makes the session reset on return",
                 "[pool][reset]") {
  auto pool = start(quiet_pool(1));
  auto l = must_borrow(self, pool);
  bool began = false;
  self->request(l.connection, hang_guard, begin_atom::value, l.id)
      .receive([&](bool ok) { began = ok; }, [&](caf::error& e) { FAIL(to_string(e)); });
  CHECK(began);
  give_back(self, pool, l);
  auto next = must_borrow(self, pool);
  CHECK(state_of(self, next).dirty == 0);
  CHECK(stats(self, pool).resets == 1);
  give_back(self, pool, next);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: a session that cannot be reset is closed and replaced",
                 "[pool][reset]") {
  auto pool = start(quiet_pool(1));
  auto l = must_borrow(self, pool);
  REQUIRE(execute(self, l, "unresettable").result);
  give_back(self, pool, l);
  auto next = must_borrow(self, pool);
  auto st = state_of(self, next);
  CHECK(st.connection == 2);
  CHECK(st.dirty == 0);
  auto s = stats(self, pool);
  CHECK(s.closed == 1);
  CHECK(s.opened == 2);
  CHECK(s.total == 1);
  give_back(self, pool, next);
  shutdown(self, pool);
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool: recently used connections skip validation", "[pool][validate]") {
  auto pool = start(quiet_pool(2)); // bypass one hour
  for (int i = 0; i < 5; ++i)
    give_back(self, pool, must_borrow(self, pool));
  CHECK(stats(self, pool).validated == 0);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: connections idle beyond the bypass are validated first",
                 "[pool][validate]") {
  auto config = quiet_pool(2);
  config.validation_bypass = caf::timespan{0};
  auto pool = start(config);
  for (int i = 0; i < 5; ++i)
    give_back(self, pool, must_borrow(self, pool));
  auto s = stats(self, pool);
  CHECK(s.opened == 1);
  CHECK(s.validated == 4); // the first borrow opened a fresh connection
  CHECK(s.invalid == 0);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: an invalid idle connection is closed and replaced",
                 "[pool][validate]") {
  auto config = quiet_pool(1);
  config.validation_bypass = caf::timespan{0};
  auto pool = start(config);
  auto l = must_borrow(self, pool);
  REQUIRE(execute(self, l, "vanish").result); // the server ends the session silently
  give_back(self, pool, l);
  auto next = must_borrow(self, pool);
  CHECK(state_of(self, next).connection == 2);
  auto s = stats(self, pool);
  CHECK(s.invalid == 1);
  CHECK(s.closed == 1);
  CHECK(s.total == 1);
  give_back(self, pool, next);
  shutdown(self, pool);
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool: what a dead borrower held is reclaimed and reusable",
                 "[pool][reclaim]") {
  auto pool = start(quiet_pool(1));
  auto borrower = sys.spawn(holding_borrower, pool, caf::actor{self});
  lease held;
  self->receive([&](hold_atom, lease& l) { held = l; });
  REQUIRE(held.id != 0);
  CHECK(stats(self, pool).leased == 1);
  // The borrower dirtied the session before it died (through its lease, from here).
  REQUIRE(execute(self, held, "dirty").result);
  caf::anon_send_exit(borrower, caf::exit_reason::kill);
  auto s = wait_for(self, pool, [](const pool_stats& x) {
    return x.reclaimed == 1 && x.idle == 1 && x.leased == 0;
  });
  CHECK(s.total == 1);
  auto again = must_borrow(self, pool);
  auto st = state_of(self, again);
  CHECK(st.connection == 1);
  CHECK(st.dirty == 0);
  CHECK(code(execute(self, held, "SELECT 1").error) == pool_errc::stale_lease);
  CHECK(code(execute_release(self, held, "SELECT 1").error) == pool_errc::stale_lease);
  s = stats(self, pool);
  CHECK(s.validated >= 1); // reclaimed leases are reset and validated
  // A late end of the reclaimed lease (a give_back, or a release its connection sent before it
  // heard of the reclaim) does not end the lease that holds the connection now.
  give_back(self, pool, held);
  self->send(pool, released_atom::value, held.id, false);
  s = stats(self, pool);
  CHECK(s.leased == 1);
  CHECK(s.returned == 0);
  CHECK(execute(self, again, "SELECT 1").result);
  give_back(self, pool, again);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: connect failures back off instead of looping", "[pool][backoff]") {
  plan->fail_every_open = true;
  auto config = quiet_pool(2);
  config.backoff_initial = 10ms;
  config.backoff_max = 80ms;
  config.acquire_timeout = 600ms;
  auto pool = start(config);
  auto out = borrow(self, pool);
  REQUIRE_FALSE(out.granted);
  CHECK(code(out.error) == pool_errc::acquire_timeout);
  CHECK_THAT(context_of(out.error), Catch::Contains("refused"));
  auto s = stats(self, pool);
  // 600 ms with backoff 10, 20, 40, 80, 80 ... ms is about a dozen attempts; a hot loop
  // would make thousands. At most one connect was in flight at a time.
  CHECK(s.connect_failures >= 2);
  CHECK(s.connect_failures <= 40);
  CHECK(s.total == 0);
  CHECK_THAT(s.last_connect_error, Catch::Contains("refused"));
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: a connection opens once the server is back", "[pool][backoff]") {
  plan->failing_opens = 3;
  auto config = quiet_pool(2);
  config.backoff_initial = 5ms;
  auto pool = start(config);
  auto l = must_borrow(self, pool);
  auto s = stats(self, pool);
  CHECK(s.connect_failures == 3);
  CHECK(s.opened == 1);
  give_back(self, pool, l);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: an authentication failure fails every waiter at once",
                 "[pool][backoff]") {
  plan->fail_every_open = true;
  plan->failures_are_auth = true;
  auto config = quiet_pool(2);
  config.acquire_timeout = std::chrono::minutes(5); // far beyond the hang guard
  config.backoff_initial = std::chrono::minutes(1);
  auto pool = start(config);
  std::vector<std::unique_ptr<caf::scoped_actor>> waiters;
  std::vector<decltype(self->request(pool, hang_guard, borrow_atom::value))> pending;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(std::make_unique<caf::scoped_actor>(sys));
    pending.push_back((*waiters.back())->request(pool, hang_guard, borrow_atom::value));
  }
  for (auto& p : pending) {
    pool_errc got = pool_errc::none;
    p.receive([&](lease&) { FAIL("a lease with rejected credentials"); },
              [&](caf::error& e) { got = code(e); });
    CHECK(got == pool_errc::authentication_failed);
  }
  auto before =
      wait_for(self, pool, [](const pool_stats& x) { return x.opening == 0; }).connect_failures;
  CHECK(before >= 1);
  CHECK(before <= 2); // one connect per missing connection, within max_size
  // Within the backoff a new borrow is refused without another login attempt.
  auto again = borrow(self, pool);
  CHECK(code(again.error) == pool_errc::authentication_failed);
  CHECK_THAT(context_of(again.error), Catch::Contains("rejected"));
  CHECK(stats(self, pool).connect_failures == before);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: min_idle connections are kept open", "[pool][maintenance]") {
  auto config = quiet_pool(4);
  config.min_idle = 2;
  auto pool = start(config);
  wait_for(self, pool, [](const pool_stats& s) { return s.idle == 2 && s.opening == 0; });
  auto l = must_borrow(self, pool);
  auto s = wait_for(self, pool, [](const pool_stats& x) { return x.idle == 2 && x.leased == 1; });
  CHECK(s.total == 3);
  give_back(self, pool, l);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: idle connections above min_idle time out", "[pool][maintenance]") {
  auto config = quiet_pool(4);
  config.idle_timeout = 30ms;
  config.min_idle = 1;
  auto pool = start(config);
  auto a = must_borrow(self, pool);
  auto b = must_borrow(self, pool);
  auto c = must_borrow(self, pool);
  for (auto* l : {&a, &b, &c})
    give_back(self, pool, *l);
  auto s = wait_for(self, pool, [](const pool_stats& x) { return x.evicted >= 2 && x.total == 1; });
  CHECK(s.evicted == s.opened - 1);
  CHECK(s.idle == 1);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: connections are replaced after max_lifetime",
                 "[pool][maintenance]") {
  auto config = quiet_pool(2);
  config.max_lifetime = 40ms;
  config.lifetime_jitter = 10ms;
  config.min_idle = 1;
  auto pool = start(config);
  // Replaced: min_idle brings a new connection after each eviction. The replacement opens
  // after the eviction, so both are waited for (wait_for fails the test if they never come).
  auto s =
      wait_for(self, pool, [](const pool_stats& x) { return x.evicted >= 2 && x.opened >= 3; });
  check_invariant(s);
  // A lease held past the lifetime is closed when it comes back, not handed out again.
  auto l = must_borrow(self, pool);
  std::this_thread::sleep_for(60ms); // longer than the lifetime: the condition, not a timing check
  auto evicted_before = stats(self, pool).evicted;
  give_back(self, pool, l);
  wait_for(self, pool, [&](const pool_stats& x) { return x.evicted > evicted_before; });
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: keepalive validates idle connections", "[pool][maintenance]") {
  auto config = quiet_pool(2);
  config.keepalive_interval = 20ms;
  auto pool = start(config);
  give_back(self, pool, must_borrow(self, pool));
  auto s = wait_for(self, pool, [](const pool_stats& x) { return x.validated >= 2; });
  CHECK(s.invalid == 0);
  CHECK(s.total == 1);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: keepalive finds a dead idle connection and replaces it",
                 "[pool][maintenance]") {
  auto config = quiet_pool(2);
  config.keepalive_interval = 20ms;
  config.min_idle = 1;
  auto pool = start(config);
  auto l = must_borrow(self, pool);
  execute(self, l, "vanish");
  give_back(self, pool, l);
  auto s = wait_for(self, pool, [](const pool_stats& x) {
    return x.invalid == 1 && x.closed == 1 && x.idle == 1 && x.opening == 0;
  });
  CHECK(s.opened == 2);
  shutdown(self, pool);
}

TEST_CASE_METHOD(fixture, "pool: prewarm opens exactly n and reports failures", "[pool][prewarm]") {
  plan->failing_opens = 1;
  auto pool = start(quiet_pool(4));
  prewarm_report report;
  self->request(pool, hang_guard, prewarm_atom::value, std::size_t{3})
      .receive([&](prewarm_report& r) { report = r; }, [&](caf::error& e) { FAIL(to_string(e)); });
  CHECK(report.requested == 3);
  CHECK(report.opened == 2);
  REQUIRE(report.failures.size() == 1);
  CHECK_THAT(report.failures[0], Catch::Contains("refused"));
  // The failed connection's slot is free once its actor is down (until then it counts, as it
  // might still hold a session).
  auto s = wait_for(self, pool, [](const pool_stats& x) { return x.total == 2; });
  CHECK(s.idle == 2);
  CHECK(plan->open_sessions() == 2);
  // Asking for more than max_size opens up to max_size and names the limit.
  self->request(pool, hang_guard, prewarm_atom::value, std::size_t{6})
      .receive([&](prewarm_report& r) { report = r; }, [&](caf::error& e) { FAIL(to_string(e)); });
  CHECK(report.opened == 4);
  REQUIRE(report.failures.size() == 2);
  CHECK_THAT(report.failures[0], Catch::Contains("max_size"));
  CHECK(plan->open_sessions() == 4);
  shutdown(self, pool);
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool: a killed pool answers its waiters and its sessions close",
                 "[pool][failure]") {
  auto pool = start(quiet_pool(1));
  auto held = must_borrow(self, pool);
  caf::scoped_actor waiter{sys};
  auto pending = waiter->request(pool, hang_guard, borrow_atom::value);
  wait_for(self, pool, [](const pool_stats& s) { return s.waiting == 1; });
  caf::anon_send_exit(pool, caf::exit_reason::kill);
  caf::error err;
  pending.receive([&](lease&) { FAIL("a lease from a killed pool"); },
                  [&](caf::error& e) { err = e; });
  CHECK(err);
  CHECK(code(err) == pool_errc::pool_failed);
  // The connection actors notice the dead pool and disconnect.
  auto deadline = std::chrono::steady_clock::now() + hang_guard;
  while (plan->open_sessions() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  CHECK(plan->open_sessions() == 0);
  CHECK_FALSE(execute(self, held, "SELECT 1").result);
}

TEST_CASE_METHOD(fixture, "pool: slow connections still pool", "[pool][detached]") {
  plan->block_for = 1ms;
  auto pool = start(quiet_pool(2));
  for (int i = 0; i < 5; ++i) {
    auto l = must_borrow(self, pool);
    CHECK(execute(self, l, "SELECT 1").result);
    give_back(self, pool, l);
  }
  auto s = shutdown(self, pool);
  CHECK(s.opened == 1);
  CHECK(s.closed == 1);
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool: a connection that broke under a lease is never handed out again",
                 "[pool][failure]") {
  auto pool = start(quiet_pool(1)); // validation bypassed: only the break can tell
  auto l = must_borrow(self, pool);
  auto broke = execute(self, l, "kill");
  CHECK(code(broke.error) == pool_errc::connection_lost);
  give_back(self, pool, l);
  auto next = must_borrow(self, pool);
  CHECK(state_of(self, next).connection == 2);
  auto s = stats(self, pool);
  CHECK(s.closed == 1);
  CHECK(s.opened == 2);
  give_back(self, pool, next);
  shutdown(self, pool);
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool: a connection that broke under a released statement is replaced",
                 "[pool][failure][release]") {
  auto pool = start(quiet_pool(1));
  auto l = must_borrow(self, pool);
  auto broke = execute_release(self, l, "kill");
  CHECK(code(broke.error) == pool_errc::connection_lost);
  auto next = must_borrow(self, pool);
  CHECK(state_of(self, next).connection == 2);
  auto s = stats(self, pool);
  CHECK(s.closed == 1);
  CHECK(s.opened == 2);
  give_back(self, pool, next);
  shutdown(self, pool);
  CHECK(plan->open_sessions() == 0);
}

TEST_CASE_METHOD(fixture, "pool: a lease taken back from a dead borrower is logged once, naming it",
                 "[pool][reclaim][log]") {
  std::mutex m;
  std::vector<std::string> lines;
  log = pool_log{std::make_shared<const logger>(log_config{log_level::info,
                                                           [&](log_level, const std::string& line) {
                                                             std::lock_guard<std::mutex> lock(m);
                                                             lines.push_back(line);
                                                           }}),
                 "test-pool"};
  auto pool = start(quiet_pool(1));
  auto borrower = sys.spawn(holding_borrower, pool, caf::actor{self});
  lease held;
  self->receive([&](hold_atom, lease& l) { held = l; });
  REQUIRE(held.id != 0);
  auto id = borrower->id();
  caf::anon_send_exit(borrower, caf::exit_reason::kill);
  wait_for(self, pool, [](const pool_stats& x) { return x.reclaimed == 1 && x.idle == 1; });
  std::lock_guard<std::mutex> lock(m);
  std::vector<std::string> reclaimed;
  for (const auto& line : lines)
    if (line.find("taking back a lease") != std::string::npos)
      reclaimed.push_back(line);
  REQUIRE(reclaimed.size() == 1);
  CHECK_THAT(reclaimed[0], Catch::StartsWith("pool test-pool: "));
  CHECK_THAT(reclaimed[0], Catch::Contains("(borrower: actor " + std::to_string(id) + "@"));
}
