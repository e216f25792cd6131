// Transactions through session actors against exasim: begin holds one connection, commit makes
// the work visible, rollback (or a session killed mid-transaction) undoes it, and the pool
// resets the connection before anyone else gets it.
#include "runtime_support.hpp"

using namespace exapool;
using namespace exapool::itest;

namespace {

// Counted by a reader with autocommit on (statements outside a transaction are refused with
// autocommit off).
std::int64_t count_rows(runtime& rt, credentials creds) {
  creds.autocommit = true;
  return first_int(rt.query(creds, "SELECT COUNT(*) AS N FROM tx_rows"));
}

} // namespace

TEST_CASE("runtime transaction: commit, rollback, kill", "[runtime][transaction]") {
  // With autocommit on (the baseline) begin turns it off for the lease and the pool's reset
  // turns it back on; with autocommit off every lease is a transaction anyway.
  auto autocommit = GENERATE(true, false);
  CAPTURE(autocommit);
  sim db;
  runtime rt{sim_runtime_config()};
  auto creds = sim_credentials(db.server);
  creds.autocommit = autocommit;
  caf::scoped_actor self{rt.system()};
  auto tx = rt.spawn_session(creds);
  CHECK(ask<bool>(self, tx, begin_atom::value));
  ask<query_result>(self, tx, execute_atom::value, std::string("CREATE TABLE tx_rows (n INT)"));
  CHECK(ask<bool>(self, tx, commit_atom::value));

  SECTION("commit makes the rows visible to other sessions") {
    CHECK(ask<bool>(self, tx, begin_atom::value));
    ask<query_result>(self, tx, execute_atom::value, std::string("INSERT INTO tx_rows VALUES (1)"));
    ask<query_result>(self, tx, execute_atom::value, std::string("INSERT INTO tx_rows VALUES (2)"));
    CHECK(rt.stats(creds).leased == 1);
    CHECK(count_rows(rt, creds) == 0); // not committed yet: another connection sees nothing
    CHECK(ask<bool>(self, tx, commit_atom::value));
    CHECK(count_rows(rt, creds) == 2);
    // The connection came back with the baseline's autocommit: a plain statement sticks, or,
    // with autocommit off, is refused (its work would be rolled back when it goes back).
    std::string plain = "INSERT INTO tx_rows VALUES (3)";
    if (autocommit)
      ask<query_result>(self, tx, execute_atom::value, plain);
    else
      CHECK(code_of(ask_error<query_result>(self, tx, execute_atom::value, plain)) ==
            pool_errc::invalid_config);
    CHECK(count_rows(rt, creds) == (autocommit ? 3 : 2));
  }
  SECTION("rollback undoes them") {
    CHECK(ask<bool>(self, tx, begin_atom::value));
    ask<query_result>(self, tx, execute_atom::value, std::string("INSERT INTO tx_rows VALUES (1)"));
    CHECK(ask<bool>(self, tx, rollback_atom::value));
    CHECK(count_rows(rt, creds) == 0);
  }
  SECTION("a session killed mid-transaction: rolled back, the connection serves again") {
    CHECK(ask<bool>(self, tx, begin_atom::value));
    ask<query_result>(self, tx, execute_atom::value, std::string("INSERT INTO tx_rows VALUES (1)"));
    self->send_exit(tx, caf::exit_reason::kill);
    REQUIRE(eventually([&] { return rt.stats(creds).leased == 0; }));
    CHECK(count_rows(rt, creds) == 0);
    CHECK(db.stats().protocol_violations == 0);
    CHECK(rt.stats(creds).resets >= 1);
  }
  rt.shutdown();
  CHECK(eventually([&] { return db.stats().active_sessions == 0; }));
}
