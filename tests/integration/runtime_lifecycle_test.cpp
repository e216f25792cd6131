// The seed's tasks 3.10 to 3.12 with their actor meaning, against exasim: shutdown closes
// every server session, prewarm opens exactly n, the size comes from the environment (and bad
// values are clear errors); a crashed pool is restarted and its server sessions closed.
#include "runtime_support.hpp"

#include "actors/pool_actor.hpp"
#include "integration/exasol/connection.hpp"

#include <cstdlib>

using namespace exapool;
using namespace exapool::itest;

namespace {

// What EXA_ALL_SESSIONS says, asked over a connection of its own (which counts itself).
std::int64_t sessions_seen_by_server(const exasim::server& s) {
  exasol::connection_options o;
  o.dsn = "127.0.0.1:" + std::to_string(s.port());
  o.tls = false;
  o.user = "sys";
  o.password = "exasol";
  exasol::connection probe{o};
  auto rows = probe.query("SELECT COUNT(*) AS N FROM EXA_ALL_SESSIONS");
  probe.disconnect();
  return std::get<std::int64_t>(rows.at(0, 0));
}

} // namespace

TEST_CASE("runtime shutdown closes every connection, leased ones too", "[runtime][shutdown]") {
  sim db;
  auto config = sim_runtime_config();
  config.pool.shutdown_grace = 200ms;
  runtime rt{config};
  auto creds = sim_credentials(db.server);
  auto other = creds;
  other.client_name = "exapool-runtime-test-other";
  CHECK(rt.prewarm(creds, 3).opened == 3);
  CHECK(rt.prewarm(other, 2).opened == 2);
  caf::scoped_actor self{rt.system()};
  auto tx = rt.spawn_session(creds);
  CHECK(ask<bool>(self, tx, begin_atom::value)); // a lease that is never given back
  CHECK(db.stats().active_sessions == 5);
  CHECK(sessions_seen_by_server(db.server) == 6);

  auto final_stats = rt.shutdown();
  REQUIRE(final_stats.size() == 2);
  for (auto& s : final_stats) {
    CHECK(s.total == 0);
    CHECK(s.closed == s.opened);
  }
  CHECK(eventually([&] { return db.stats().active_sessions == 0; }));
  CHECK(sessions_seen_by_server(db.server) == 1); // only the probe itself
  CHECK(db.stats().protocol_violations == 0);
  CHECK_THROWS_AS(rt.execute(creds, "SELECT 1"), runtime_error);
  try {
    rt.query(creds, "SELECT 1");
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::shutting_down);
  }
  CHECK(db.stats().active_sessions == 0);
}

TEST_CASE("runtime prewarm opens exactly n server sessions", "[runtime][prewarm]") {
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);
  auto report = rt.prewarm(creds, 3);
  CHECK(report.requested == 3);
  CHECK(report.opened == 3);
  CHECK(report.failures.empty());
  CHECK(db.stats().active_sessions == 3);
  CHECK(sessions_seen_by_server(db.server) == 4);
  // Prewarming again to 3 opens nothing; the prewarmed connections serve borrowers.
  CHECK(rt.prewarm(creds, 3).opened == 3);
  rt.execute(creds, "SELECT 1");
  CHECK(db.stats().sessions_opened == 3 + 1); // + the probe
}

TEST_CASE("runtime prewarm reports why connections failed", "[runtime][prewarm]") {
  sim db;
  db.server.set_refuse_logins(true);
  auto config = sim_runtime_config();
  config.initialization_fail_timeout = 0s; // no check: the report, not an exception
  runtime rt{config};
  auto creds = sim_credentials(db.server);
  auto report = rt.prewarm(creds, 2);
  CHECK(report.opened == 0);
  CHECK(report.cause != pool_errc::none);
  REQUIRE_FALSE(report.failures.empty());
  CHECK(report.failures.front().find("exasol") == std::string::npos); // never the password
  CHECK(db.stats().active_sessions == 0);
}

TEST_CASE("runtime pool size from the environment", "[runtime][prewarm][env]") {
  env_guard guard;
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);
  SECTION("EXAPOOL_POOL_SIZE") {
    setenv("EXAPOOL_POOL_SIZE", "4", 1);
    CHECK(rt.prewarm(creds).opened == 4);
    CHECK(db.stats().active_sessions == 4);
    CHECK(runtime_config::from_environment().pool.max_size == 4);
  }
  SECTION("DBT_CONN_POOL_SIZE, the seed's variable") {
    setenv("DBT_CONN_POOL_SIZE", "2", 1);
    CHECK(rt.prewarm(creds).opened == 2);
    CHECK(db.stats().active_sessions == 2);
  }
  SECTION("neither: 5") {
    CHECK(rt.prewarm(creds).opened == 5);
    CHECK(db.stats().active_sessions == 5);
  }
  SECTION("bad values are clear errors and open nothing") {
    for (const char* variable : {"EXAPOOL_POOL_SIZE", "DBT_CONN_POOL_SIZE"}) {
      for (const char* bad : {"abc", "-1", "0", "4294967296000", "1001"}) {
        env_guard::clear();
        setenv(variable, bad, 1);
        try {
          rt.prewarm(creds);
          FAIL("no error for " << variable << "=" << bad);
        } catch (const runtime_error& e) {
          CHECK(e.code() == pool_errc::invalid_config);
          CHECK(std::string(e.what()).find(variable) != std::string::npos);
          CHECK(std::string(e.what()).find(bad) != std::string::npos);
        }
        CHECK_THROWS_AS(runtime_config::from_environment(), runtime_error);
      }
    }
    CHECK(db.stats().sessions_opened == 0);
  }
}

TEST_CASE("runtime restarts a crashed pool and its server sessions end", "[runtime][restart]") {
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);
  CHECK(rt.prewarm(creds, 3).opened == 3);
  caf::scoped_actor self{rt.system()};
  auto pool = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds);
  self->send_exit(pool, caf::exit_reason::kill);
  CHECK(eventually([&] { return db.stats().active_sessions == 0; }));
  CHECK(eventually([&] { return rt.pool_restarts() == 1; }));
  CHECK(first_int(rt.query(creds, "SELECT 1")) == 1);
  CHECK(db.stats().active_sessions == 1);
  CHECK(rt.stats(creds).opened == 1);
}

TEST_CASE("runtime over wss with a pinned fingerprint", "[runtime][tls]") {
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server, true);
  CHECK(first_int(rt.query(creds, "SELECT 1")) == 1);
  rt.shutdown();
  CHECK(eventually([&] { return db.stats().active_sessions == 0; }));
}
