// exapool proxy end to end: the C++ client logs in to the proxy as to Exasol and runs SQL on
// pooled exasim connections, in session and transaction mode.
#include "tests/proxy/proxy_fixture.hpp"
#include "tests/support/client_errors.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace exapool;
using namespace exapool::ptest;
using exasol::testing::error_of;

namespace {

std::uint64_t server_session_of(exasol::connection& c) {
  return static_cast<std::uint64_t>(first_int(c.query("SELECT CURRENT_SESSION AS S")));
}

} // namespace

TEST_CASE("a client runs SQL through the proxy in session mode on one upstream connection") {
  proxy_fixture f({proxy_mode::session, 2});
  auto client = f.connect();
  CHECK(first_int(client->query("SELECT 1")) == 1);
  // The client's session id is the proxy's; its statements run on one exasim session.
  auto upstream = server_session_of(*client);
  CHECK(client->session().session_id != upstream);
  CHECK(f.sim().session_ids() == std::vector<std::uint64_t>{upstream});
  CHECK(server_session_of(*client) == upstream);

  SECTION("a server error keeps its sqlCode and the session stays usable") {
    auto e = error_of([&] { client->execute("SELECT * FROM no_such_table"); });
    CHECK(e.sql_code() == "42000");
    CHECK(first_int(client->query("SELECT 2")) == 2);
  }
  SECTION("5,000 rows come back through the proxy's own result handles") {
    client->execute("CREATE TABLE t (x INTEGER)");
    std::vector<std::string> inserts;
    for (int i = 0; i < 50; ++i) {
      std::string sql = "INSERT INTO t VALUES ";
      for (int j = 0; j < 100; ++j)
        sql += (j ? ",(" : "(") + std::to_string(i * 100 + j) + ")";
      inserts.push_back(sql);
    }
    client->execute_batch(inserts);
    auto rows = client->query("SELECT x FROM t ORDER BY x");
    REQUIRE(rows.row_count() == 5000);
    CHECK(std::get<std::int64_t>(rows.at(4999, 0)) == 4999);
    CHECK(f.sim().stats().result_rows == 0); // upstream's handle is closed already
  }
  SECTION("a disconnect gives the connection back, and the next client reuses it") {
    client->disconnect();
    auto next = f.connect();
    CHECK(server_session_of(*next) == upstream);
    CHECK(f.sim().stats().sessions_opened == 1);
  }
}

TEST_CASE("in transaction mode, clients share one upstream connection between statements") {
  proxy_fixture f({proxy_mode::transaction, 1});
  auto a = f.connect();
  auto b = f.connect();
  for (int i = 0; i < 20; ++i) {
    CHECK(first_int(a->query("SELECT " + std::to_string(i))) == i);
    CHECK(first_int(b->query("SELECT " + std::to_string(i + 100))) == i + 100);
  }
  CHECK(f.sim().stats().sessions_opened == 1);
  CHECK(f.sim().session_ids().size() == 1);
  CHECK(f.front().sessions() == 2);
  // The pool counts its clients (pgbouncer's SHOW POOLS), until they are gone.
  auto pool = f.pools().stats();
  REQUIRE(pool.size() == 1);
  CHECK(pool[0].clients == 2);
  CHECK(pool[0].total == 1);
  b->disconnect();
  auto deadline = std::chrono::steady_clock::now() + 20s; // a hang guard
  while (f.pools().stats()[0].clients != 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(f.pools().stats()[0].clients == 1);
}

TEST_CASE("in transaction mode, an open transaction pins its client to one connection") {
  proxy_fixture f({proxy_mode::transaction, 2});
  auto a = f.connect();
  auto b = f.connect();
  a->execute("CREATE TABLE t (x INTEGER)");
  a->set_attributes({{"autocommit", false}});
  a->execute("INSERT INTO t VALUES (1)");
  auto pinned = server_session_of(*a);
  // b runs on the other connection and does not see a's uncommitted row.
  CHECK(first_int(b->query("SELECT COUNT(*) FROM t")) == 0);
  CHECK(server_session_of(*b) != pinned);
  a->execute("INSERT INTO t VALUES (2)");
  CHECK(server_session_of(*a) == pinned);
  a->execute("COMMIT");
  CHECK(first_int(b->query("SELECT COUNT(*) FROM t")) == 2);
}

TEST_CASE("the client's attributes follow it from connection to connection") {
  proxy_fixture f({proxy_mode::transaction, 1});
  auto a = f.connect();
  auto b = f.connect();
  // The schema the upstream session has while the client's statement runs, as exasim sees it.
  auto upstream_schema = [](exasol::connection& c) {
    auto rows = c.query("SELECT SCOPE_SCHEMA AS S FROM EXA_ALL_SESSIONS "
                        "WHERE SESSION_ID = CURRENT_SESSION");
    REQUIRE(rows.row_count() == 1);
    const auto& v = rows.at(0, 0);
    return exasol::is_null(v) ? std::string() : std::get<std::string>(v);
  };
  a->execute("CREATE SCHEMA s1");
  a->execute("OPEN SCHEMA s1");
  // b shares a's one upstream connection but keeps its own (empty) schema, and a keeps S1.
  CHECK(upstream_schema(*b).empty());
  CHECK(upstream_schema(*a) == "S1");
  CHECK(upstream_schema(*b).empty());
  CHECK(std::get<std::string>(a->attributes().at("currentSchema")) == "S1");
  CHECK(f.sim().stats().sessions_opened == 1);
}

TEST_CASE("a wrong password gets upstream's 08004 and leaves the proxy serving") {
  proxy_fixture f({proxy_mode::transaction, 2});
  auto e = error_of([&] { exasol::connection c(f.client_options(false, "wrong")); });
  CHECK(e.sql_code() == "08004");
  CHECK(std::string(e.what()).find("authentication failed") != std::string::npos); // upstream's
  // The refused credentials leave no pool behind (evicted in the background: a hang guard).
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!f.pools().stats().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(f.pools().stats().empty());
  auto good = f.connect(true); // wss with the proxy's fingerprint
  CHECK(first_int(good->query("SELECT 1")) == 1);
  CHECK(f.pools().stats().size() == 1);
}

// The upstream session that holds a client's open transaction is lost (KILL SESSION, a crash):
// against Exasol that client's connection is gone and no later statement can run, so nothing
// the client did before the loss can be taken for committed. The proxy must not quietly carry
// on on another upstream session: there, a later COMMIT would commit only the statements after
// the loss while the ones before were rolled back. Every later request fails instead, and a
// new client connection works.
TEST_CASE("a lost upstream session that held the client's transaction ends the client's session") {
  auto mode = GENERATE(proxy_mode::session, proxy_mode::transaction);
  CAPTURE(mode == proxy_mode::session ? "session" : "transaction");
  proxy_fixture f({mode, 2});
  auto a = f.connect();
  a->execute("CREATE TABLE t (x INTEGER)");
  a->set_attributes({{"autocommit", false}});
  a->execute("INSERT INTO t VALUES (1)");
  auto pinned = server_session_of(*a);
  REQUIRE(f.sim().drop_session(pinned));

  auto lost = error_of([&] { a->execute("INSERT INTO t VALUES (2)"); });
  CHECK(lost.sql_code() == "08001");
  auto after = error_of([&] { a->execute("INSERT INTO t VALUES (3)"); });
  CHECK(after.sql_code() == "08001");
  CHECK_THAT(after.what(), Catch::Contains("lost"));
  auto commit = error_of([&] { a->execute("COMMIT"); });
  CHECK(commit.sql_code() == "08001");

  auto b = f.connect();
  CHECK(first_int(b->query("SELECT COUNT(*) FROM t")) == 0); // nothing of a's was committed
  CHECK(first_int(b->query("SELECT 1")) == 1);
}

// Without state on the lost connection (transaction mode, autocommit on), the client only sees
// the one statement fail; its next statement runs on another connection.
TEST_CASE("in transaction mode, a lost connection without the client's state costs one statement") {
  proxy_fixture f({proxy_mode::transaction, 1});
  auto a = f.connect();
  auto upstream = server_session_of(*a);
  REQUIRE(f.sim().drop_session(upstream));
  // Within the pool's validation bypass the dead connection may be handed out once.
  try {
    a->query("SELECT 1");
  } catch (const exasol::error& e) {
    CHECK(e.sql_code() == "08001");
  }
  CHECK(first_int(a->query("SELECT 2")) == 2);
  CHECK(server_session_of(*a) != upstream);
}

// Prepared statements pin in transaction mode (README "Pool modes": pinned rather than
// re-prepared): the handle exists on one upstream session only.
TEST_CASE("in transaction mode, a prepared statement pins its client until it is closed") {
  proxy_fixture f({proxy_mode::transaction, 2});
  auto a = f.connect();
  auto b = f.connect();
  a->execute("CREATE TABLE t (x INTEGER)");
  auto insert = a->prepare("INSERT INTO t VALUES (?)");
  auto pinned = server_session_of(*a);
  CHECK(f.pools().stats().at(0).leased == 1); // a holds its connection between requests
  for (std::int64_t round = 0; round < 3; ++round) {
    a->execute_prepared(insert, {{exasol::value{round * 2}}, {exasol::value{round * 2 + 1}}});
    // b runs meanwhile on the other connection and sees a's committed rows (autocommit on).
    CHECK(first_int(b->query("SELECT COUNT(*) FROM t")) == (round + 1) * 2);
    CHECK(server_session_of(*b) != pinned);
    CHECK(server_session_of(*a) == pinned);
  }
  a->close_prepared(insert);
  // Unpinned: nothing is leased between requests any more.
  CHECK(f.pools().stats().at(0).leased == 0);
  CHECK(first_int(a->query("SELECT SUM(x) FROM t")) == 15);
  CHECK(f.sim().stats().sessions_opened == 2);
}
