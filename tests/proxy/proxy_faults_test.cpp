// exapool proxy on a bad day: a client that aborts or vanishes, a pool that is exhausted,
// upstream gone, and what cannot be pooled. Invariants from exasim's side where they matter.
#include "tests/proxy/proxy_fixture.hpp"
#include "tests/support/client_errors.hpp"
#include "tests/support/exasim_test_client.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace exapool;
using namespace exapool::ptest;
using exasol::testing::error_of;

namespace {

bool mentions(const std::exception& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

// Waits (a hang guard, not a timing assertion) until `done` holds.
template <class Predicate> bool eventually(Predicate done) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  return done();
}

} // namespace

TEST_CASE("abortQuery through the proxy aborts the upstream statement, and the session goes on") {
  proxy_fixture f({proxy_mode::transaction, 1});
  auto c = f.connect();
  CHECK(first_int(c->query("SELECT 1")) == 1);
  f.sim().set_query_latency(20s);
  std::atomic<bool> finished{false};
  std::thread aborter([&] { // abort_query() does nothing while no query runs: keep asking
    while (!finished) {
      std::this_thread::sleep_for(50ms);
      c->abort_query();
    }
  });
  auto started = std::chrono::steady_clock::now();
  auto e = error_of([&] { c->execute("SELECT 2"); });
  finished = true;
  aborter.join();
  CHECK(e.sql_code() == "R0003");
  CHECK(std::chrono::steady_clock::now() - started < 15s); // not the 20 s latency: aborted
  f.sim().set_query_latency(0ms);
  CHECK(first_int(c->query("SELECT 3")) == 3);
  CHECK(f.sim().stats().sessions_opened == 1);
}

TEST_CASE("a client that vanishes mid-transaction: rolled back upstream, connection reused") {
  proxy_fixture f({proxy_mode::transaction, 1});
  auto setup = f.connect();
  setup->execute("CREATE TABLE t (x INTEGER)");
  setup->disconnect();
  auto a = f.connect();
  a->set_attributes({{"autocommit", false}});
  a->execute("INSERT INTO t VALUES (1)");
  a->close(); // the socket drops: no disconnect, no rollback from the client
  a.reset();
  auto b = f.connect(); // the pool's one connection, back after the rollback
  CHECK(first_int(b->query("SELECT COUNT(*) FROM t")) == 0);
  CHECK(f.sim().stats().sessions_opened == 1);
  CHECK(f.sim().session_ids().size() == 1);
  CHECK(eventually([&] { return f.front().sessions() == 1; }));
}

TEST_CASE("an exhausted pool names its counts, and the waiting client's session stays usable") {
  proxy_fixture f({proxy_mode::transaction, 1, 1s});
  auto a = f.connect();
  auto b = f.connect();
  a->execute("CREATE TABLE t (x INTEGER)");
  a->set_attributes({{"autocommit", false}});
  a->execute("INSERT INTO t VALUES (1)"); // a is pinned to the pool's only connection
  auto e = error_of([&] { b->execute("SELECT 1"); });
  CHECK(mentions(e, "no connection within"));
  CHECK(mentions(e, "leased=1"));
  CHECK(mentions(e, "max_size=1"));
  a->execute("COMMIT");
  CHECK(first_int(b->query("SELECT COUNT(*) FROM t")) == 1);
}

TEST_CASE("a warm pool lets a client log in while every connection is in use") {
  proxy_fixture f({proxy_mode::transaction, 1, 2s});
  auto a = f.connect();
  a->execute("CREATE TABLE t (x INTEGER)");
  a->set_attributes({{"autocommit", false}});
  a->execute("INSERT INTO t VALUES (1)"); // a is pinned to the pool's only connection
  auto borrowed = f.pools().stats().at(0).borrowed;
  // The pool holds an open connection of b's credentials: b is let in without a borrow (one
  // would wait out the 2 s acquire timeout behind a's transaction and fail the login).
  auto b = f.connect();
  CHECK(b->is_open());
  CHECK(f.pools().stats().at(0).borrowed == borrowed);
  CHECK(f.pools().stats().at(0).clients == 2);
  // Another password for the same user is not vouched for: its own pool proves it upstream.
  auto e = error_of([&] { exasol::connection c(f.client_options(false, "wrong")); });
  CHECK(e.sql_code() == "08004");
  a->execute("COMMIT");
  CHECK(first_int(b->query("SELECT COUNT(*) FROM t")) == 1);
  CHECK(f.sim().stats().sessions_opened == 1);
}

TEST_CASE("upstream gone: a clear error, the client stays connected, and service resumes") {
  proxy_fixture f({proxy_mode::transaction, 2, 3s});
  auto c = f.connect();
  CHECK(first_int(c->query("SELECT 1")) == 1);
  f.sim().stop();
  auto e = error_of([&] { c->execute("SELECT 2"); });
  CHECK(mentions(e, "exapool proxy"));
  CHECK(c->is_open());
  f.sim().start(); // the same port and certificate
  // The pool reconnects after its backoff; the client's session is the same all along.
  bool served = false;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    try {
      served = first_int(c->query("SELECT 3")) == 3;
    } catch (const exasol::error&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  CHECK(served);
}

TEST_CASE("what cannot be pooled gets an error naming the limitation") {
  proxy_fixture f({proxy_mode::transaction, 1});
  exasim_test::test_client raw(f.front().port(), false);
  auto login = raw.login("sys", "exasol");
  REQUIRE(login.at("status").as_string() == "ok");
  for (const char* command : {"enterParallel", "requestParallelConnections"}) {
    auto answer = raw.request({{"command", command}, {"numRequestedConnections", 2}});
    CHECK(answer.at("status").as_string() == "error");
    auto exception = answer.at("exception").as_object();
    CHECK(exception.at("sqlCode").as_string() == "0A000");
    CHECK(std::string(exception.at("text").as_string()).find("not supported") != std::string::npos);
  }
  auto still = raw.execute("SELECT 1");
  CHECK(still.at("status").as_string() == "ok");
}

TEST_CASE("through the proxy, EXA_ALL_SESSIONS shows upstream's pooled sessions and KILL SESSION "
          "ends the pooled connection once") {
  proxy_fixture f({proxy_mode::transaction, 1});
  auto c = f.connect();
  auto rows = c->query("SELECT CLIENT FROM EXA_ALL_SESSIONS WHERE SESSION_ID = CURRENT_SESSION");
  REQUIRE(rows.row_count() == 1);
  CHECK(std::get<std::string>(rows.at(0, 0)) == "exapool proxy for SYS");
  // KILL SESSION CURRENT_SESSION runs upstream: it ends the pooled connection it ran on. The
  // client sees that statement fail; the pool opens a replacement for the next one.
  CHECK_THROWS_AS(c->execute("KILL SESSION CURRENT_SESSION"), exasol::error);
  CHECK(c->is_open());
  CHECK(first_int(c->query("SELECT 4")) == 4);
  CHECK(f.sim().stats().sessions_opened == 2);
}

TEST_CASE("getHosts names the proxy, so a client never goes around it") {
  proxy_fixture f({proxy_mode::transaction, 1});
  exasim_test::test_client raw(f.front().port(), false);
  REQUIRE(raw.login("sys", "exasol").at("status").as_string() == "ok");
  auto hosts = raw.request({{"command", "getHosts"}, {"hostIp", "127.0.0.1"}});
  REQUIRE(hosts.at("status").as_string() == "ok");
  auto nodes = hosts.at("responseData").at("nodes").as_array();
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].as_string() == "127.0.0.1");
}

TEST_CASE("loginToken and protocol v1 logins pass through the proxy") {
  proxy_fixture f({proxy_mode::transaction, 2});
  auto o = f.client_options(true); // loginToken needs TLS
  o.password.clear();
  o.access_token = access_token;
  exasol::connection token_client(o);
  CHECK(first_int(token_client.query("SELECT 1")) == 1);
  o.access_token = "not-a-token";
  auto refused = error_of([&] { exasol::connection c(o); });
  CHECK(refused.sql_code() == "08004");

  exasim_test::test_client v1(f.front().port(), false);
  auto login = v1.login("sys", "exasol", 1);
  REQUIRE(login.at("status").as_string() == "ok");
  CHECK(login.at("responseData").at("protocolVersion").as_int64() == 1);
  CHECK(v1.execute("SELECT 2").at("status").as_string() == "ok");
}

TEST_CASE("heartbeats reach the client while its statement runs upstream") {
  proxy_fixture f({proxy_mode::transaction, 1});
  exasim_test::test_client raw(f.front().port(), false);
  REQUIRE(raw.login("sys", "exasol").at("status").as_string() == "ok");
  f.sim().set_query_latency(2500ms);
  auto answer = raw.request({{"command", "execute"},
                             {"sqlText", "SELECT 1"},
                             {"attributes", boost::json::object{{"feedbackInterval", 1}}}});
  f.sim().set_query_latency(0ms);
  CHECK(answer.at("status").as_string() == "ok");
  CHECK(raw.pongs_received() >= 1); // the proxy's own, each second of the 2.5 s statement
}

TEST_CASE("client connections beyond max-clients are closed at once, and room comes back") {
  proxy_setup setup(proxy_mode::transaction, 1);
  setup.front = [](proxy::proxy_options& o) { o.max_clients = 3; };
  proxy_fixture f(setup);
  auto a = f.connect();
  auto b = f.connect();
  auto c = f.connect();
  CHECK_THROWS_AS(f.connect(), exasol::error); // the fourth: its connection ends before login
  CHECK(f.front().refused_clients() == 1);
  CHECK(first_int(a->query("SELECT 1")) == 1); // the others are served on
  c->disconnect();
  CHECK(eventually([&] { return f.front().connections() == 2; }));
  auto d = f.connect();
  CHECK(first_int(d->query("SELECT 2")) == 2);
  CHECK(f.front().refused_clients() == 1);
  CHECK(f.sim().stats().sessions_opened == 1);
}
