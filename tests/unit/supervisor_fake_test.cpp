// The supervisor over the fake backend: one pool per key, prewarm reports, restart of a
// crashed pool (what it owned is closed), and a shutdown that answers everything.
#include "runtime_fake_support.hpp"

#include "actors/pool_actor.hpp"
#include "actors/supervisor_actor.hpp"

#include <cstdlib>
#include <set>

using namespace exapool;
using namespace exapool::test;

namespace {} // namespace

TEST_CASE("supervisor creates one pool per pool key on first use", "[supervisor]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  caf::scoped_actor self{rt.system()};
  CHECK(ask<std::vector<pool_stats>>(self, rt.supervisor(), stats_atom::value).empty());
  auto a = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, fake_credentials("one"));
  auto again = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, fake_credentials("one"));
  auto b = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, fake_credentials("two"));
  CHECK(a == again);
  CHECK(a != b); // the password alone makes another pool
  auto all = ask<std::vector<pool_stats>>(self, rt.supervisor(), stats_atom::value);
  REQUIRE(all.size() == 2);
  auto one = ask<pool_stats>(self, rt.supervisor(), stats_atom::value,
                             make_pool_key(fake_credentials("one")));
  CHECK(one.key == make_pool_key(fake_credentials("one")));
  CHECK(one.total == 0); // created, nothing opened yet
  auto unknown = ask_error<pool_stats>(self, rt.supervisor(), stats_atom::value,
                                       make_pool_key(fake_credentials("three")));
  CHECK(code_of(unknown) == pool_errc::invalid_config);
}

TEST_CASE("supervisor prewarm opens n and reports the failures", "[supervisor]") {
  auto plan = std::make_shared<fake_plan>();
  plan->failing_opens = 1;
  runtime rt{fake_runtime_config(plan)};
  auto report = rt.prewarm(fake_credentials(), 3);
  CHECK(report.requested == 3);
  CHECK(report.opened == 2);
  REQUIRE(report.failures.size() == 1);
  CHECK(report.failures.front().find("refused") != std::string::npos);
  // The failed connection counts against max_size until its actor is down.
  REQUIRE(eventually([&] { return rt.stats(fake_credentials()).total == 2; }));
  auto beyond = rt.prewarm(fake_credentials(), 7); // max_size is 5
  CHECK(beyond.opened == 5);
  CHECK(beyond.failures.size() == 2);
  CHECK(rt.stats(fake_credentials()).total == 5);
  CHECK_THROWS_AS(rt.prewarm(fake_credentials(), 0), runtime_error);
}

TEST_CASE("supervisor prewarm takes n from the environment", "[supervisor][env]") {
  env_guard guard;
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  caf::scoped_actor self{rt.system()};
  SECTION("default 5") {
    auto r = ask<prewarm_report>(self, rt.supervisor(), prewarm_atom::value, fake_credentials());
    CHECK(r.requested == 5);
    CHECK(r.opened == 5);
  }
  SECTION("EXAPOOL_POOL_SIZE wins over DBT_CONN_POOL_SIZE") {
    setenv("EXAPOOL_POOL_SIZE", "2", 1);
    setenv("DBT_CONN_POOL_SIZE", "4", 1);
    auto r = ask<prewarm_report>(self, rt.supervisor(), prewarm_atom::value, fake_credentials());
    CHECK(r.requested == 2);
    CHECK(r.opened == 2);
  }
  SECTION("a bad value is a clear error naming the variable") {
    for (const char* bad : {"abc", "-1", "0", "99999999999999999999"}) {
      setenv("DBT_CONN_POOL_SIZE", bad, 1);
      auto err =
          ask_error<prewarm_report>(self, rt.supervisor(), prewarm_atom::value, fake_credentials());
      CHECK(code_of(err) == pool_errc::invalid_config);
      CHECK(context_of(err).find("DBT_CONN_POOL_SIZE") != std::string::npos);
    }
    CHECK(rt.stats().empty()); // no pool was made for a refused prewarm
  }
}

TEST_CASE("supervisor restarts a crashed pool and what it owned is closed", "[supervisor]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  caf::scoped_actor self{rt.system()};
  auto creds = fake_credentials();
  auto pool = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds);
  auto first = ask<lease>(self, pool, borrow_atom::value);
  auto second = ask<lease>(self, pool, borrow_atom::value);
  self->monitor(first.connection);
  self->monitor(second.connection);
  self->monitor(pool);
  self->send_exit(pool, caf::exit_reason::kill);
  std::set<caf::actor_addr> gone;
  for (int i = 0; i < 3; ++i)
    self->receive([&](caf::down_msg& down) { gone.insert(down.source); },
                  caf::after(hang_guard) >> [] { FAIL("no down message"); });
  CHECK(gone.count(first.connection.address()) == 1);
  CHECK(gone.count(second.connection.address()) == 1);
  CHECK(gone.count(pool.address()) == 1);
  CHECK(eventually([&] { return plan->open_sessions() == 0; })); // both fake sessions closed
  CHECK(eventually([&] {
    return ask<std::size_t>(self, rt.supervisor(), stats_atom::value, pool_atom::value) == 1;
  }));
  auto fresh = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds);
  CHECK(fresh != pool);
  // The restarted pool serves, with a connection of its own (the third the factory made).
  auto rows = rt.query(creds, "state");
  CHECK(connection_number(rows) == 3);
  CHECK(rt.stats(creds).opened == 1);
}

TEST_CASE("supervisor replaces a pool reported dead only on evidence, once", "[supervisor]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.slack = 400ms; // the supervisor waits at most slack / 2 for the evidence
  runtime rt{config};
  caf::scoped_actor self{rt.system()};
  auto creds = fake_credentials();
  auto pool = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds);
  CHECK(rt.prewarm(creds, 2).opened == 2);
  self->monitor(pool);
  // A mistaken report about a live pool (its requests never bounced, no down message): the
  // pool and its connections are kept, and the caller gets it back.
  CHECK(ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds, pool) == pool);
  CHECK(rt.pool_restarts() == 0);
  CHECK(plan->open_sessions() == 2);
  CHECK(rt.stats(creds).total == 2);
  // A report about a pool that is dead: replaced.
  self->send_exit(pool, caf::exit_reason::kill);
  self->receive([&](caf::down_msg& down) { CHECK(down.source == pool.address()); },
                caf::after(hang_guard) >> [] { FAIL("the pool lives on"); });
  auto fresh = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds, pool);
  CHECK(fresh != pool);
  CHECK(eventually([&] { return plan->open_sessions() == 0; }));
  // A second report about the same old pool changes nothing.
  CHECK(ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds, pool) == fresh);
  CHECK(rt.pool_restarts() == 1);
}

TEST_CASE("supervisor shutdown answers every pending request", "[supervisor][shutdown]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.max_size = 1;
  runtime rt{config};
  auto creds = fake_credentials();
  caf::scoped_actor holder{rt.system()};
  auto pool = ask<pool_actor>(holder, rt.supervisor(), pool_atom::value, creds);
  auto held = ask<lease>(holder, pool, borrow_atom::value);

  // A session waits for the one connection.
  auto session = rt.spawn_session(creds);
  caf::scoped_actor waiter{rt.system()};
  auto waiting = waiter->request(session, hang_guard, execute_atom::value, std::string("x"));
  REQUIRE(eventually([&] { return rt.stats(creds).waiting == 1; }));

  caf::scoped_actor closer{rt.system()};
  auto shutdown = closer->request(rt.supervisor(), hang_guard, shutdown_atom::value);

  caf::error waiter_error;
  waiting.receive([](query_result&) { FAIL("a waiter got a connection during shutdown"); },
                  [&](caf::error& err) { waiter_error = err; });
  CHECK(code_of(waiter_error) == pool_errc::shutting_down);

  // New work is refused at once.
  caf::scoped_actor other{rt.system()};
  CHECK(code_of(ask_error<pool_actor>(other, rt.supervisor(), pool_atom::value, creds)) ==
        pool_errc::shutting_down);
  CHECK(code_of(ask_error<prewarm_report>(other, rt.supervisor(), prewarm_atom::value, creds,
                                          std::size_t{1})) == pool_errc::shutting_down);
  auto late = rt.spawn_session(creds);
  CHECK(code_of(ask_error<query_result>(other, late, execute_atom::value, std::string("x"))) ==
        pool_errc::shutting_down);

  // The leased connection closes when it comes back; then shutdown answers.
  holder->send(pool, give_back_atom::value, held.id);
  std::vector<pool_stats> final_stats;
  shutdown.receive([&](std::vector<pool_stats>& s) { final_stats = std::move(s); },
                   [&](caf::error& err) { FAIL("shutdown failed: " << rt.system().render(err)); });
  REQUIRE(final_stats.size() == 1);
  CHECK(final_stats[0].total == 0);
  CHECK(final_stats[0].closed == 1);
  // Idempotent: a second shutdown gets the same answer.
  CHECK(rt.shutdown().size() == 1);
}

TEST_CASE("supervisor shutdown closes unreturned leases after the grace period",
          "[supervisor][shutdown]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.shutdown_grace = 50ms;
  runtime rt{config};
  auto creds = fake_credentials();
  caf::scoped_actor holder{rt.system()};
  auto pool = ask<pool_actor>(holder, rt.supervisor(), pool_atom::value, creds);
  auto held = ask<lease>(holder, pool, borrow_atom::value);
  holder->monitor(held.connection);
  auto final_stats = rt.shutdown(); // never given back: the grace period ends it
  REQUIRE(final_stats.size() == 1);
  CHECK(final_stats[0].total == 0);
  bool closed = false;
  holder->receive([&](caf::down_msg& down) { closed = down.source == held.connection.address(); },
                  caf::after(hang_guard) >> [] {});
  CHECK(closed);
}
