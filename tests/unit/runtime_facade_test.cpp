// The runtime facade over the fake backend: attaching to an existing actor system, the
// "exapool" error category, the blocking API's exceptions, and an end that never hangs.
#include "runtime_fake_support.hpp"

using namespace exapool;
using namespace exapool::test;

TEST_CASE("runtime attaches to an existing actor system", "[runtime]") {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  runtime::configure(cfg);
  caf::actor_system sys{cfg};
  auto plan = std::make_shared<fake_plan>();
  auto before = sys.registry().running();
  {
    auto config = fake_runtime_config(plan);
    config.pool.shutdown_grace = 20ms;
    runtime rt{sys, config};
    CHECK(&rt.system() == &sys);
    CHECK(connection_number(rt.query(fake_credentials(), "state")) == 1);
    caf::scoped_actor self{sys};
    auto session = rt.spawn_session(fake_credentials());
    CHECK(ask<bool>(self, session, begin_atom::value)); // left open: the runtime's end copes
  }
  // The system outlives the runtime; the runtime's actors end soon after it.
  CHECK(eventually([&] { return sys.registry().running() == before; }));
}

TEST_CASE("runtime registers the exapool error category", "[runtime][errors]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  auto text = rt.system().render(make_error(pool_errc::acquire_timeout, "waited 30 s"));
  CHECK(text == "exapool acquire_timeout: waited 30 s");
}

TEST_CASE("runtime blocking API throws clear errors", "[runtime][errors]") {
  auto plan = std::make_shared<fake_plan>();
  plan->fail_every_open = true;
  plan->failures_are_auth = true;
  auto config = fake_runtime_config(plan);
  config.pool.acquire_timeout = 200ms;
  runtime rt{config};
  try {
    rt.query(fake_credentials("secret-password"), "state");
    FAIL("no exception");
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::authentication_failed);
    CHECK(std::string(e.what()).find("authentication_failed") != std::string::npos);
    CHECK(std::string(e.what()).find("secret-password") == std::string::npos);
  }
  rt.shutdown();
  try {
    rt.execute(fake_credentials(), "x");
    FAIL("no exception");
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::shutting_down);
  }
  CHECK_THROWS_AS(rt.prewarm(fake_credentials(), 1), runtime_error);
}

TEST_CASE("runtime ends with sessions still running and leases still held", "[runtime]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.shutdown_grace = 20ms;
  auto rt = std::make_unique<runtime>(config);
  std::vector<session_actor> sessions;
  for (int i = 0; i < 20; ++i)
    sessions.push_back(rt->spawn_session(fake_credentials()));
  {
    caf::scoped_actor self{rt->system()};
    for (int i = 0; i < 3; ++i)
      CHECK(ask<bool>(self, sessions[i], begin_atom::value));
  }
  // Handles must not outlive the actor system; the actors may (until the system stops them).
  sessions.clear();
  rt.reset(); // must return: sessions end with the supervisor, the system then stops
  SUCCEED("the runtime ended");
}

// Issue 8, item 1: the blocking API gave up after acquire_timeout + socket_timeout +
// query_timeout + 2 slack and reported connection_lost while the statement went on. Now it
// waits as the session does: no limit without a query timeout; else the guard, then the
// statement is aborted and reported as such.
TEST_CASE("runtime blocking statements wait as their session does", "[runtime][guard]") {
  auto plan = std::make_shared<fake_plan>();
  plan->detached = true; // no effect now: every fake can "sleep" (on a timer)
  auto config = fake_runtime_config(plan);
  config.pool.acquire_timeout = 100ms;
  config.slack = 50ms;
  runtime rt{config};
  auto creds = fake_credentials();
  creds.socket_timeout = 50ms; // the old limit: 100 + 50 + 0 + 2 * 50 = 250 ms
  auto result = rt.execute(creds, "sleep 600");
  CHECK(result.results.size() == 1);
  auto limited = creds;
  limited.query_timeout = 100ms; // the fake does not enforce it: the guard has to
  try {
    rt.execute(limited, "sleep 60000");
    FAIL("no exception");
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::statement_aborted);
  }
  // The aborted statement ended (it would run for 60 s, longer than eventually's guard): its
  // connection, the limited credentials' pool's only one, is back and serves on.
  REQUIRE(eventually([&] { return rt.stats(limited).leased == 0; }));
  rt.query(limited, "state");
  auto stats = rt.stats(limited);
  CHECK(stats.opened == 1);
  CHECK(stats.closed == 0);
}
