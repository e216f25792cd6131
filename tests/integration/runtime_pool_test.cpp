// The seed's tasks 3.2 to 3.9 with their actor meaning, through the runtime against exasim:
// pool keys, validation, reuse, a new connection when empty, replacement of an invalid one,
// and return to the pool.
#include "runtime_support.hpp"

#include "actors/connection_actor.hpp"
#include "actors/pool_actor.hpp"

using namespace exapool;
using namespace exapool::itest;

TEST_CASE("runtime pool key: same credentials share a pool, any other field does not",
          "[runtime][key]") {
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);
  rt.execute(creds, "SELECT 1");
  rt.execute(creds, "SELECT 1");
  CHECK(rt.stats().size() == 1);
  auto other_client = creds;
  other_client.client_name = "exapool-runtime-test-2";
  rt.execute(other_client, "SELECT 1");
  auto all = rt.stats();
  REQUIRE(all.size() == 2);
  CHECK(all[0].key != all[1].key);
  CHECK(db.stats().sessions_opened == 2); // one server session per pool
  for (auto& s : all)
    CHECK(s.key.hex.find("exasol") == std::string::npos); // reveals nothing
}

TEST_CASE("runtime validation: true for a live connection, false once closed or killed",
          "[runtime][validation]") {
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);
  caf::scoped_actor self{rt.system()};

  SECTION("live, then KILL SESSION from another session") {
    auto conn = spawn_connection(rt.system(), make_exasol_backend(creds), connection_listener{});
    auto session_id = ask<std::uint64_t>(self, conn, open_atom::value);
    CHECK(ask<bool>(self, conn, validate_atom::value));
    rt.execute(creds, "KILL SESSION " + std::to_string(session_id));
    CHECK_FALSE(ask<bool>(self, conn, validate_atom::value));
    ask<bool>(self, conn, close_atom::value);
  }
  SECTION("closed") {
    auto backend = make_exasol_backend(creds);
    backend->open();
    CHECK(backend->validate());
    backend->close();
    CHECK_FALSE(backend->validate());
    CHECK(eventually([&] { return db.stats().active_sessions == 0; }));
  }
}

TEST_CASE("runtime reuse: a valid pooled connection serves again, no new server session",
          "[runtime][reuse]") {
  sim db;
  auto config = sim_runtime_config();
  config.pool.validation_bypass = 0ms; // validate on every borrow: still the same session
  runtime rt{config};
  auto creds = sim_credentials(db.server);
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);
  ask<exasol::result_set>(self, session, query_atom::value, std::string("SELECT 1"));
  auto served_by = only_session(db.server);
  for (int i = 0; i < 5; ++i) {
    auto rows = ask<exasol::result_set>(self, session, query_atom::value,
                                        std::string("SELECT SESSION_ID FROM EXA_ALL_SESSIONS"));
    CHECK(static_cast<std::uint64_t>(first_int(rows)) == served_by);
  }
  CHECK(db.stats().sessions_opened == 1);
  auto stats = rt.stats(creds);
  CHECK(stats.opened == 1);
  CHECK(stats.validated >= 5);
  CHECK(stats.invalid == 0);
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("runtime opens a new connection when the pool is empty", "[runtime][reuse]") {
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);
  CHECK(db.stats().sessions_opened == 0);
  auto rows = rt.query(creds, "SELECT 1");
  CHECK(first_int(rows) == 1);
  CHECK(db.stats().sessions_opened == 1);
  CHECK(rt.stats(creds).opened == 1);
}

TEST_CASE("runtime replaces an invalid pooled connection", "[runtime][reuse]") {
  sim db;
  auto config = sim_runtime_config();
  config.pool.validation_bypass = 0ms;
  runtime rt{config};
  auto creds = sim_credentials(db.server);
  rt.execute(creds, "SELECT 1");
  auto killed = only_session(db.server);

  SECTION("dropped as KILL SESSION does") {
    REQUIRE(db.server.drop_session(killed));
  }
  SECTION("KILL SESSION from another connection") {
    auto backend = make_exasol_backend(creds);
    backend->open();
    backend->execute("KILL SESSION " + std::to_string(killed));
    backend->close();
  }
  REQUIRE(eventually([&] { return db.stats().active_sessions == 0; }));
  auto rows = rt.query(creds, "SELECT 1");
  CHECK(first_int(rows) == 1);
  auto stats = rt.stats(creds);
  CHECK(stats.invalid == 1);
  CHECK(stats.opened == 2);
  CHECK(stats.total == 1); // removed and closed, not kept beside its replacement
  CHECK(only_session(db.server) != killed);
}

TEST_CASE("runtime return: a given-back connection goes back to the pool", "[runtime][return]") {
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);
  caf::scoped_actor self{rt.system()};
  auto pool = ask<pool_actor>(self, rt.supervisor(), pool_atom::value, creds);
  auto granted = ask<lease>(self, pool, borrow_atom::value);
  auto leased = rt.stats(creds);
  CHECK(leased.leased == 1);
  CHECK(leased.idle == 0);
  self->send(pool, give_back_atom::value, granted.id);
  REQUIRE(eventually([&] { return rt.stats(creds).idle == 1; }));
  auto back = rt.stats(creds);
  CHECK(back.leased == 0);
  CHECK(back.returned == 1);
  CHECK(db.stats().active_sessions == 1); // kept open for the next borrower
  // The old lease can never touch the connection again.
  caf::error stale;
  self->request(caf::actor_cast<connection_actor>(granted.connection), hang_guard,
                execute_atom::value, granted.id, std::string("SELECT 1"))
      .receive([](query_result&) { FAIL("a returned lease ran SQL"); },
               [&](caf::error& err) { stale = err; });
  CHECK(code_of(stale) == pool_errc::stale_lease);
  CHECK(rt.query(creds, "SELECT 1").row_count() == 1);
  CHECK(db.stats().sessions_opened == 1);
}
