// The runtime over real connections on both schedulers: on exapool's event loop its sockets run
// on the loop's threads (the runtime starts no I/O thread of its own), and on CAF's own
// scheduler (scheduler.policy=stealing) it keeps I/O threads of its own. exasim counts the
// sessions from the server's side.
#include "integration/event_loop/event_loop.hpp"
#include "runtime_support.hpp"

using namespace exapool;
using namespace exapool::itest;

namespace {

// Four sessions at once, 25 statements each: all four connections of the pool get used.
void run_statements(runtime& rt, const credentials& creds) {
  caf::scoped_actor self{rt.system()};
  std::vector<session_actor> sessions;
  for (int i = 0; i < 4; ++i)
    sessions.push_back(rt.spawn_session(creds));
  int ones = 0, failures = 0;
  for (int round = 0; round < 25; ++round) {
    for (auto& s : sessions)
      self->send(s, query_atom::value, std::string("SELECT 1"));
    for (std::size_t i = 0; i < sessions.size(); ++i)
      self->receive([&](exasol::result_set& rs) { ones += first_int(rs) == 1 ? 1 : 0; },
                    [&](caf::error&) { ++failures; });
  }
  CHECK(ones == 100);
  CHECK(failures == 0);
  for (auto& s : sessions)
    self->send_exit(s, caf::exit_reason::user_shutdown);
}

} // namespace

TEST_CASE("on the event loop a runtime's sockets use the loop's threads", "[runtime][event_loop]") {
  sim db;
  auto creds = sim_credentials(db.server);
  caf::actor_system_config cfg;
  runtime::configure(cfg);
  caf::actor_system sys{cfg};
  REQUIRE(event_loop_of(sys) != nullptr);
  auto before = thread_count();
  {
    auto config = sim_runtime_config();
    config.pool.max_size = 4;
    config.io_threads = 3; // ignored on a loop the runtime attaches to: the loop's threads serve
    runtime rt{sys, config};
    REQUIRE(rt.prewarm(creds, 4).opened == 4);
    run_statements(rt, creds);
    // Asio's resolver thread may come with the first connection; no I/O thread may.
    CHECK(thread_count() <= before + 1);
    auto stats = rt.stats(creds);
    CHECK(stats.opened == 4);
    CHECK(db.stats().sessions_opened == 4);
    CHECK(db.stats().active_sessions == 4);
  }
  CHECK(db.stats().active_sessions == 0); // the runtime's end closed them on the loop
}

TEST_CASE("on CAF's own scheduler a runtime keeps I/O threads of its own",
          "[runtime][event_loop]") {
  sim db;
  auto creds = sim_credentials(db.server);
  caf::actor_system_config cfg;
  runtime::configure(cfg);
  cfg.set("scheduler.policy", caf::atom("stealing"));
  caf::actor_system sys{cfg};
  REQUIRE(event_loop_of(sys) == nullptr);
  auto before = thread_count();
  {
    auto config = sim_runtime_config();
    config.pool.max_size = 4;
    config.io_threads = 2;
    runtime rt{sys, config};
    CHECK(thread_count() >= before + 2); // the runtime's two I/O threads
    REQUIRE(rt.prewarm(creds, 4).opened == 4);
    run_statements(rt, creds);
    CHECK(db.stats().sessions_opened == 4);
    CHECK(db.stats().active_sessions == 4);
  }
  CHECK(db.stats().active_sessions == 0);
}
