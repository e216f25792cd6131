// What bounds the supervisor (issue 8, item 8): idle pools are evicted with their server
// sessions closed, max_pools refuses a new key by name, a crashing pool is restarted at most
// max_restarts times per period, a slow answer is never taken for a dead pool, and shutdown
// reports success only once every pool confirmed that its connections are closed.
// Idleness and restart intensity run on a clock the test moves; sessions are checked from the
// server's side (fake_plan::open_sessions()).
#include "runtime_fake_support.hpp"

#include "actors/pool_actor.hpp"
#include "actors/session_actor.hpp"
#include "actors/supervisor_actor.hpp"
#include "messages/stats_json.hpp"

#include <atomic>

using namespace exapool;
using namespace exapool::test;

namespace {

// A steady clock that moves only when the test says so.
class test_clock {
public:
  supervisor_clock function() const {
    return [offset = offset_, base = base_] { return base + std::chrono::nanoseconds(*offset); };
  }
  void advance(caf::timespan by) { *offset_ += by.count(); }

private:
  std::shared_ptr<std::atomic<std::int64_t>> offset_ =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::chrono::steady_clock::time_point base_ = std::chrono::steady_clock::now();
};

// A supervisor of its own, with limits and the test's clock, in a runtime's actor system. It
// drains and stops at the end of the test (sessions end with it).
class limited_supervisor {
public:
  limited_supervisor(runtime& rt, std::shared_ptr<fake_plan> plan, supervisor_limits limits,
                     const test_clock& clock)
      : sys_(rt.system()) {
    auto base = fake_runtime_config(std::move(plan));
    config_.pool = base.pool;
    config_.make_backend = base.make_backend;
    config_.limits = limits;
    config_.now = clock.function();
    handle_ = spawn_supervisor(sys_, config_);
  }
  ~limited_supervisor() {
    caf::scoped_actor self{sys_};
    self->request(handle_, hang_guard, shutdown_atom::value)
        .receive([](std::vector<pool_stats>&) {}, [](caf::error&) {});
    self->send_exit(handle_, caf::exit_reason::user_shutdown);
  }
  const supervisor_actor& operator*() const { return handle_; }
  session_actor session(const credentials& creds) const {
    return spawn_session(sys_, handle_, creds, session_config_for(config_.pool, 10s));
  }

private:
  caf::actor_system& sys_;
  supervisor_config config_;
  supervisor_actor handle_;
};

// The supervisor's answer to a lookup: the pool, or the error.
caf::expected<pool_actor> lookup(caf::scoped_actor& self, const supervisor_actor& sup,
                                 const credentials& creds) {
  caf::expected<pool_actor> out{make_error(pool_errc::pool_failed, "no answer")};
  self->request(sup, hang_guard, pool_atom::value, creds)
      .receive([&](pool_actor& pool) { out = std::move(pool); },
               [&](caf::error& err) { out = std::move(err); });
  return out;
}

std::size_t look_for_idle(caf::scoped_actor& self, const supervisor_actor& sup) {
  return ask<std::size_t>(self, sup, tick_atom::value);
}

} // namespace

TEST_CASE("supervisor evicts a pool unused for pool-idle-timeout, sessions closed",
          "[supervisor][limits]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  test_clock clock;
  supervisor_limits limits;
  limits.pool_idle_timeout = 10min;
  limited_supervisor sup{rt, plan, limits, clock};
  caf::scoped_actor self{rt.system()};
  auto creds = fake_credentials();
  auto session = sup.session(creds);
  for (int i = 0; i < 3; ++i)
    ask<query_result>(self, session, execute_atom::value, std::string("x"));
  REQUIRE(plan->open_sessions() == 1);

  CHECK(look_for_idle(self, *sup) == 0); // it was used since the last look
  clock.advance(9min);
  CHECK(look_for_idle(self, *sup) == 0); // unused for 9 minutes: kept
  CHECK(plan->open_sessions() == 1);
  clock.advance(2min);
  CHECK(look_for_idle(self, *sup) == 1); // unused for 11 minutes: evicted
  CHECK(eventually([&] { return plan->open_sessions() == 0; }));
  CHECK(ask<std::vector<pool_stats>>(self, *sup, stats_atom::value).empty());

  // The session still holds the old pool; its next statement gets the key's new pool.
  auto rows = ask<exasol::result_set>(self, session, query_atom::value, std::string("state"));
  CHECK(connection_number(rows) == 2);
  CHECK(plan->open_sessions() == 1);
  auto all = ask<std::vector<pool_stats>>(self, *sup, stats_atom::value);
  REQUIRE(all.size() == 1);
  CHECK(all[0].opened == 1);
  CHECK(ask<std::size_t>(self, *sup, stats_atom::value, pool_atom::value) == 0); // no restart
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("supervisor never evicts a pool with a lease out", "[supervisor][limits]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  test_clock clock;
  supervisor_limits limits;
  limits.pool_idle_timeout = 10min;
  limited_supervisor sup{rt, plan, limits, clock};
  caf::scoped_actor self{rt.system()};
  auto pool = ask<pool_actor>(self, *sup, pool_atom::value, fake_credentials());
  auto held = ask<lease>(self, pool, borrow_atom::value);
  for (int i = 0; i < 3; ++i) {
    clock.advance(1h);
    CHECK(look_for_idle(self, *sup) == 0);
  }
  CHECK(ask<std::vector<pool_stats>>(self, *sup, stats_atom::value).size() == 1);
  CHECK(plan->open_sessions() == 1);
  self->send(pool, give_back_atom::value, held.id);
}

TEST_CASE("supervisor refuses a pool beyond max-pools by name until one is evicted",
          "[supervisor][limits]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  test_clock clock;
  supervisor_limits limits;
  limits.max_pools = 2;
  limits.pool_idle_timeout = 10min;
  limited_supervisor sup{rt, plan, limits, clock};
  caf::scoped_actor self{rt.system()};
  REQUIRE(lookup(self, *sup, fake_credentials("token-1")));
  REQUIRE(lookup(self, *sup, fake_credentials("token-2")));
  REQUIRE(lookup(self, *sup, fake_credentials("token-2"))); // an existing key is served
  auto refused = lookup(self, *sup, fake_credentials("token-3"));
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == pool_errc::too_many_pools);
  auto text = context_of(refused.error());
  CHECK(text.find("2 pools") != std::string::npos);
  CHECK(text.find("exapool.max-pools") != std::string::npos);
  CHECK(text.find("token") == std::string::npos); // never a secret
  // A session for the refused key gets the same error.
  auto session = sup.session(fake_credentials("token-3"));
  auto err = ask_error<query_result>(self, session, execute_atom::value, std::string("x"));
  CHECK(code_of(err) == pool_errc::too_many_pools);
  self->send_exit(session, caf::exit_reason::user_shutdown);

  clock.advance(11min);
  CHECK(look_for_idle(self, *sup) == 2);
  // An evicted pool counts until it has closed its connections (they may hold sessions).
  CHECK(eventually(
      [&] { return static_cast<bool>(lookup(self, *sup, fake_credentials("token-3"))); }));
}

TEST_CASE("supervisor restarts a crashing pool at most max-restarts times per period",
          "[supervisor][limits]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  test_clock clock;
  supervisor_limits limits;
  limits.max_restarts = 2;
  limits.restart_period = 1min;
  limits.restart_cooldown = 30s;
  limited_supervisor sup{rt, plan, limits, clock};
  caf::scoped_actor self{rt.system()};
  auto creds = fake_credentials();
  auto restarts = [&] { return ask<std::size_t>(self, *sup, stats_atom::value, pool_atom::value); };
  auto crash = [&](const pool_actor& pool) {
    self->monitor(pool);
    self->send_exit(pool, caf::exit_reason::kill);
    self->receive([](caf::down_msg&) {}, caf::after(hang_guard) >> [] { FAIL("no down"); });
  };
  for (std::size_t i = 1; i <= 2; ++i) {
    auto pool = ask<pool_actor>(self, *sup, pool_atom::value, creds);
    crash(pool);
    CHECK(eventually([&] { return restarts() == i; }));
    clock.advance(10s);
  }
  // The third crash within the minute: no restart, the key fails for the cool-down.
  crash(ask<pool_actor>(self, *sup, pool_atom::value, creds));
  CHECK(eventually([&] { return !lookup(self, *sup, creds); }));
  auto refused = lookup(self, *sup, creds);
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == pool_errc::pool_failed);
  CHECK(context_of(refused.error()).find("exapool.max-restarts") != std::string::npos);
  CHECK(restarts() == 2);
  clock.advance(29s);
  CHECK_FALSE(lookup(self, *sup, creds)); // still cooling down
  clock.advance(2s);
  auto fresh = lookup(self, *sup, creds); // after the cool-down: a fresh pool, on demand
  REQUIRE(fresh);
  CHECK(ask<prewarm_report>(self, *fresh, prewarm_atom::value, std::size_t{1}).opened == 1);
  CHECK(restarts() == 2);
}

namespace {

using reports_counter = std::shared_ptr<std::atomic<int>>;

// A live pool that answers a statement as if its connection had died under it (the request
// bounced) and is too slow to answer a stats probe within the session's lookup timeout.
pool_actor::behavior_type slow_pool(pool_actor::pointer self) {
  auto refuse = [] { return make_error(pool_errc::invalid_config, "not in this test"); };
  return {
      [](dirty_atom, std::uint64_t) {},
      [](released_atom, std::uint64_t, bool) {},
      [refuse](borrow_atom) -> caf::result<lease> { return refuse(); },
      [](statement_atom, std::string&) -> caf::result<query_result> {
        return caf::make_error(caf::sec::request_receiver_down);
      },
      [](give_back_atom, std::uint64_t) {},
      [](abort_atom) {},
      [](client_atom) { return false; },
      [refuse](prewarm_atom, std::size_t) -> caf::result<prewarm_report> { return refuse(); },
      [self](stats_atom) -> caf::result<pool_stats> {
        return self->make_response_promise<pool_stats>(); // never delivered: too slow
      },
      [](shutdown_atom) -> pool_stats { return {}; },
  };
}

// A supervisor that always answers with `pool` and counts the reports that a pool is dead.
supervisor_actor::behavior_type counting_supervisor(supervisor_actor::pointer, pool_actor pool,
                                                    reports_counter reports) {
  auto refuse = [] { return make_error(pool_errc::invalid_config, "not in this test"); };
  return {
      [pool](pool_atom, const credentials&) { return pool; },
      [pool, reports](pool_atom, const credentials&, const pool_actor&) {
        ++*reports;
        return pool;
      },
      [refuse](prewarm_atom, const credentials&, std::size_t) -> caf::result<prewarm_report> {
        return refuse();
      },
      [refuse](prewarm_atom, const credentials&) -> caf::result<prewarm_report> {
        return refuse();
      },
      [refuse](stats_atom, const pool_key&) -> caf::result<pool_stats> { return refuse(); },
      [refuse](stats_atom, const credentials&) -> caf::result<pool_stats> { return refuse(); },
      [](stats_atom) { return std::vector<pool_stats>{}; },
      [](shutdown_atom) { return std::vector<pool_stats>{}; },
      [](stats_atom, pool_atom) { return std::size_t{0}; },
      [](tick_atom) { return std::size_t{0}; },
      [](forget_atom, const credentials&) { return false; },
  };
}

} // namespace

TEST_CASE("a slow stats answer is no evidence of a dead pool", "[supervisor][session]") {
  runtime rt{fake_runtime_config(std::make_shared<fake_plan>())};
  auto reports = std::make_shared<std::atomic<int>>(0);
  auto pool = rt.system().spawn(slow_pool);
  auto sup = rt.system().spawn(counting_supervisor, pool, reports);
  session_config config;
  config.lookup_timeout = 300ms; // the probe's limit, which the slow pool misses
  auto session = spawn_session(rt.system(), sup, fake_credentials(), config);
  caf::scoped_actor self{rt.system()};
  auto err = ask_error<query_result>(self, session, execute_atom::value, std::string("x"));
  CHECK(code_of(err) == pool_errc::connection_lost);
  CHECK(*reports == 0); // the pool was never reported dead, so never replaced
  self->send_exit(session, caf::exit_reason::user_shutdown);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  self->send_exit(pool, caf::exit_reason::user_shutdown);
}

TEST_CASE("shutdown waits for a close that outlasts grace and slack, then reports success",
          "[supervisor][shutdown]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.shutdown_grace = 50ms;
  config.pool.validation_timeout = 100ms;
  config.pool.validation_bypass = 1h; // the borrow below needs no SELECT 1
  config.slack = 200ms;
  plan->block_for = 1500ms; // every call of the connection, the statement too
  runtime rt{config};
  auto creds = fake_credentials();
  REQUIRE(rt.prewarm(creds, 1).opened == 1);
  caf::scoped_actor self{rt.system()};
  auto pool = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds);
  auto held = ask<lease>(self, pool, borrow_atom::value);
  // A statement runs for 1.5 s: the close the grace period sends waits behind it, far beyond
  // grace + validation_timeout + slack (350 ms).
  caf::anon_send(caf::actor_cast<connection_actor>(held.connection), execute_atom::value, held.id,
                 std::string("x"));
  auto final_stats = rt.shutdown();
  CHECK(plan->open_sessions() == 0); // success is claimed only once the server session is gone
  REQUIRE(final_stats.size() == 1);
  CHECK(final_stats[0].total == 0);
}

TEST_CASE("shutdown fails naming a pool that never confirmed its connections closed",
          "[supervisor][shutdown]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)}; // shutdown_grace 10 s
  auto creds = fake_credentials();
  caf::scoped_actor holder{rt.system()};
  auto pool = ask<pool_actor>(holder, rt.supervisor(), pool_atom::value, creds);
  auto held = ask<lease>(holder, pool, borrow_atom::value);
  caf::scoped_actor closer{rt.system()};
  auto shutdown = closer->request(rt.supervisor(), hang_guard, shutdown_atom::value);
  caf::scoped_actor other{rt.system()};
  REQUIRE(eventually([&] {
    return code_of(ask_error<pool_actor>(other, rt.supervisor(), pool_atom::value, creds)) ==
           pool_errc::shutting_down;
  }));
  // The pool dies while its lease is out: it can no longer confirm anything.
  holder->send_exit(pool, caf::exit_reason::kill);
  caf::error failure;
  shutdown.receive([](std::vector<pool_stats>&) { FAIL("shutdown claimed success"); },
                   [&](caf::error& err) { failure = err; });
  CHECK(code_of(failure) == pool_errc::pool_failed);
  CHECK(context_of(failure).find(pool_label(creds)) != std::string::npos);
  CHECK(context_of(failure).find("shutdown incomplete") != std::string::npos);
  // The same answer again (idempotent), and the sessions close by themselves anyway.
  CHECK(code_of(ask_error<std::vector<pool_stats>>(other, rt.supervisor(), shutdown_atom::value)) ==
        pool_errc::pool_failed);
  CHECK(eventually([&] { return plan->open_sessions() == 0; }));
}
