// exasim's session control and robustness: KILL SESSION, drop_session, knobs, compression,
// abort and timeouts, heartbeats, protocol violations, bad input, stop.
#include "exasim_test_checks.hpp"
#include "tests/support/exasim_test_client.hpp"

#include "integration/exasim/server.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using exasim_test::eventually;
using exasim_test::first_value;
using exasim_test::ok;
using exasim_test::session_id_of;
using exasim_test::sql_code;
using exasim_test::test_client;
namespace json = boost::json;
using namespace std::chrono_literals;

TEST_CASE("KILL SESSION drops the victim's connection without a close frame", "[exasim][control]") {
  exasim::server sim;
  sim.start();
  for (bool tls : {false, true}) {
    INFO((tls ? "wss victim" : "ws victim"));
    test_client killer(sim.port(), false), victim(sim.port(), tls);
    REQUIRE(ok(killer.login("sys", "exasol")));
    auto victim_id = session_id_of(victim.login("sys", "exasol"));
    auto killed = killer.execute("KILL SESSION " + std::to_string(victim_id));
    REQUIRE(ok(killed));
    auto ec = victim.receive_error();
    CHECK(ec);
    CHECK_FALSE(victim.last_close_was_frame());
    auto ids = sim.session_ids();
    CHECK(std::count(ids.begin(), ids.end(), victim_id) == 0);
    CHECK(sql_code(killer.execute("KILL SESSION 12345")) == "42000");
    CHECK(ok(killer.execute("SELECT 1")));
  }
}

TEST_CASE("drop_session ends a session like KILL SESSION", "[exasim][control]") {
  exasim::server sim;
  sim.start();
  test_client victim(sim.port(), true), other(sim.port(), false);
  auto id = session_id_of(victim.login("sys", "exasol"));
  REQUIRE(ok(other.login("sys", "exasol")));
  CHECK(sim.drop_session(id));
  CHECK(victim.receive_error());
  CHECK_FALSE(victim.last_close_was_frame());
  CHECK_FALSE(sim.drop_session(id));
  CHECK(eventually([&] { return sim.stats().active_sessions == 1; }));
  CHECK(sim.stats().sessions_closed == 1);
  CHECK(ok(other.execute("SELECT 1")));
}

TEST_CASE("login latency delays logins without blocking other sessions", "[exasim][control]") {
  exasim::server_options options;
  options.threads = 1; // one I/O thread: a blocking wait would stall everybody
  exasim::server sim(options);
  sim.start();
  test_client early(sim.port(), false);
  REQUIRE(ok(early.login("sys", "exasol")));
  sim.set_login_latency(2000ms);
  constexpr int logins = 20;
  std::atomic<int> done{0}, succeeded{0};
  auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < logins; ++i)
    threads.emplace_back([&, i] {
      test_client c(sim.port(), i % 2 == 0);
      if (ok(c.login("sys", "exasol")))
        ++succeeded;
      ++done;
    });
  // While 20 logins wait out their latency, an existing session is served.
  CHECK(eventually([&] { return sim.stats().failed_logins == 0 && done == 0; }));
  CHECK(ok(early.execute("SELECT 1")));
  CHECK(done < logins);
  for (auto& t : threads)
    t.join();
  CHECK(succeeded == logins);
  CHECK(std::chrono::steady_clock::now() - started >= 2000ms); // a lower bound only
  CHECK(sim.stats().sessions_opened == logins + 1);
}

TEST_CASE("refuse_logins and max_sessions make logins fail with 08004", "[exasim][control]") {
  exasim::server sim;
  sim.start();
  sim.set_refuse_logins(true);
  {
    test_client c(sim.port(), false);
    auto refused = c.login("sys", "exasol");
    CHECK(sql_code(refused) == "08004");
    CHECK(refused.at("exception").at("text") == "Connection exception - authentication failed.");
  }
  sim.set_refuse_logins(false);
  sim.set_max_sessions(1);
  test_client first(sim.port(), false), second(sim.port(), false);
  REQUIRE(ok(first.login("sys", "exasol")));
  auto refused = second.login("sys", "exasol");
  CHECK(sql_code(refused) == "08004");
  // The session limit says so: a client must not take it for a wrong password (issue 8).
  CHECK(refused.at("exception").at("text") ==
        "Connection exception - session limit reached: 1 sessions are open.");
  CHECK(sim.stats().failed_logins == 2);
  REQUIRE(ok(first.request({{"command", "disconnect"}})));
  CHECK(eventually([&] { return sim.stats().active_sessions == 0; }));
  CHECK(ok(second.login("sys", "exasol")));
}

TEST_CASE("compression switches to zlib binary frames after login", "[exasim][control]") {
  exasim::server sim;
  sim.start();
  SECTION("useCompression") {
    test_client c(sim.port(), true);
    REQUIRE(ok(c.login("sys", "exasol", 3, {{"useCompression", true}})));
    auto r = c.execute("SELECT 'compressed' AS c");
    REQUIRE(ok(r)); // the client inflated a binary frame to read this
    CHECK(first_value(r) == "compressed");
    CHECK(c.request({{"command", "getAttributes"}}).at("attributes").at("compressionEnabled") ==
          true);
    // Garbage instead of a zlib stream gets an error, and the session goes on.
    c.send_raw("not zlib at all", true);
    CHECK(c.receive().at("status") == "error");
    CHECK(ok(c.execute("SELECT 1")));
  }
  SECTION("attributes.compressionEnabled alone, as the Go driver does") {
    test_client c(sim.port(), false);
    REQUIRE(
        ok(c.login("sys", "exasol", 3,
                   {{"useCompression", false}, {"attributes", {{"compressionEnabled", true}}}})));
    CHECK(first_value(c.execute("SELECT 2")) == 2);
  }
}

TEST_CASE("a second request while one is in flight is a protocol violation", "[exasim][control]") {
  exasim::server sim;
  sim.start();
  test_client c(sim.port(), false);
  // A command before login.
  CHECK(c.request({{"command", "execute"}, {"sqlText", "SELECT 1"}}).at("status") == "error");
  CHECK(sim.stats().protocol_violations == 1);
  REQUIRE(ok(c.login("sys", "exasol")));
  sim.set_query_latency(500ms);
  c.send_json({{"command", "execute"}, {"sqlText", "SELECT 1"}});
  c.send_json({{"command", "execute"}, {"sqlText", "SELECT 2"}});
  auto first = c.receive();
  auto second = c.receive();
  CHECK(ok(first));
  CHECK(first_value(first) == 1);
  CHECK(second.at("status") == "error");
  CHECK(sim.stats().protocol_violations == 2);
  sim.set_query_latency(0ms);
  CHECK(first_value(c.execute("SELECT 3")) == 3);
}

TEST_CASE("abortQuery ends a running query with R0003 and gets no answer of its own",
          "[exasim][control]") {
  exasim::server sim;
  sim.start();
  test_client c(sim.port(), false);
  REQUIRE(ok(c.login("sys", "exasol")));
  c.send_json({{"command", "abortQuery"}}); // idle: ignored, no answer
  sim.set_query_latency(10000ms);
  c.send_json({{"command", "execute"}, {"sqlText", "SELECT 1"}});
  c.send_json({{"command", "abortQuery"}});
  CHECK(sql_code(c.receive()) == "R0003");
  sim.set_query_latency(0ms);
  CHECK(first_value(c.execute("SELECT 4")) == 4); // the very next answer belongs to this
  CHECK(sim.stats().protocol_violations == 0);

  SECTION("an endless statement inside SQLite") {
    c.send_json({{"command", "execute"},
                 {"sqlText", "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
                             "SELECT COUNT(*) FROM r"}});
    std::this_thread::sleep_for(100ms); // let it reach SQLite; not needed for correctness
    c.send_json({{"command", "abortQuery"}});
    CHECK(sql_code(c.receive()) == "R0003");
  }
  SECTION("KILL STATEMENT from another session") {
    test_client killer(sim.port(), false);
    REQUIRE(ok(killer.login("sys", "exasol")));
    auto id = std::to_string(sim.session_ids().front());
    c.send_json({{"command", "execute"},
                 {"sqlText", "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
                             "SELECT COUNT(*) FROM r"}});
    CHECK(eventually([&] {
      return first_value(killer.execute("SELECT COUNT(*) FROM EXA_ALL_SESSIONS WHERE STATUS = "
                                        "'EXECUTE SQL' AND SESSION_ID = " +
                                        id)) == 1;
    }));
    REQUIRE(ok(killer.execute("KILL STATEMENT IN SESSION " + id)));
    CHECK(sql_code(c.receive()) == "R0003");
  }
}

TEST_CASE("queryTimeout ends a query with R0001 and keeps the session", "[exasim][control]") {
  exasim::server sim;
  sim.start();
  test_client c(sim.port(), false);
  REQUIRE(ok(c.login("sys", "exasol", 3, {{"attributes", {{"queryTimeout", 1}}}})));
  SECTION("during query latency") {
    sim.set_query_latency(10000ms);
    CHECK(sql_code(c.execute("SELECT 1")) == "R0001");
  }
  SECTION("inside SQLite") {
    CHECK(sql_code(c.execute("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
                             "SELECT COUNT(*) FROM r")) == "R0001");
  }
  sim.set_query_latency(0ms);
  CHECK(first_value(c.execute("SELECT 5")) == 5);
}

TEST_CASE("a slow query sends heartbeat pongs every feedbackInterval", "[exasim][control]") {
  exasim::server sim;
  sim.start();
  test_client c(sim.port(), true);
  REQUIRE(ok(c.login("sys", "exasol", 3, {{"attributes", {{"feedbackInterval", 1}}}})));
  sim.set_query_latency(2500ms);
  CHECK(ok(c.execute("SELECT 1")));
  CHECK(c.pongs_received() >= 1);
}

TEST_CASE("bad input gets an error response and the server goes on", "[exasim][control]") {
  exasim::server_options options;
  options.max_message_bytes = 64 * 1024;
  exasim::server sim(options);
  sim.start();
  test_client bystander(sim.port(), true);
  REQUIRE(ok(bystander.login("sys", "exasol")));
  test_client c(sim.port(), false);
  REQUIRE(ok(c.login("sys", "exasol")));

  c.send_raw("{\"command\": \"execute\", ", false);
  auto malformed = c.receive();
  CHECK(sql_code(malformed) == "00000");
  CHECK(std::string(malformed.at("exception").at("text").as_string()).find("malformed JSON") !=
        std::string::npos);
  c.send_raw(std::string("\x00\xff\x13garbage", 10), true);
  CHECK(c.receive().at("status") == "error");
  c.send_raw("[1, 2, 3]", false);
  CHECK(c.receive().at("status") == "error");
  CHECK(c.request({{"command", "noSuchCommand"}}).at("status") == "error");
  CHECK(c.request({{"command", 42}}).at("status") == "error");
  CHECK(c.request({{"sqlText", "SELECT 1"}}).at("status") == "error");
  CHECK(c.request({{"command", "execute"}}).at("status") == "error");
  CHECK(c.request({{"command", "execute"}, {"sqlText", 5}}).at("status") == "error");
  CHECK(c.request({{"command", "fetch"}, {"resultSetHandle", "one"}, {"startPosition", 0}})
            .at("status") == "error");
  CHECK(c.request({{"command", "closeResultSet"}, {"resultSetHandles", "all"}}).at("status") ==
        "error");
  CHECK(c.request({{"command", "executeBatch"}, {"sqlTexts", {1, 2}}}).at("status") == "error");
  CHECK(
      c.request({{"command", "executePreparedStatement"}, {"statementHandle", 77}}).at("status") ==
      "error");
  CHECK(c.request({{"command", "execute"}, {"sqlText", "SELECT 1"}, {"attributes", 3}})
            .at("status") == "error");
  CHECK(c.execute("").at("status") == "error");
  CHECK(first_value(c.execute("SELECT 6")) == 6);

  // An oversize message closes that connection; everybody else is served.
  try {
    c.send_raw("{\"command\":\"execute\",\"sqlText\":\"SELECT '" + std::string(100 * 1024, 'x') +
                   "'\"}",
               false);
    CHECK(c.receive_error());
  } catch (const std::exception&) {
    // the server may close before the client has written it all (broken pipe)
  }

  // A client that vanishes mid-request.
  sim.set_query_latency(300ms);
  {
    test_client vanishing(sim.port(), true);
    REQUIRE(ok(vanishing.login("sys", "exasol")));
    vanishing.send_json({{"command", "execute"}, {"sqlText", "SELECT 1"}});
  } // destroyed without a close
  sim.set_query_latency(0ms);
  CHECK(eventually([&] { return sim.stats().active_sessions == 1; }));
  CHECK(first_value(bystander.execute("SELECT 7")) == 7);
  CHECK(sim.stats().requests > 15);
}

TEST_CASE("stop closes every session and is idempotent", "[exasim][control]") {
  exasim::server sim;
  sim.start();
  test_client c(sim.port(), false);
  REQUIRE(ok(c.login("sys", "exasol")));
  sim.stop();
  CHECK(c.receive_error());
  sim.stop();
  CHECK(sim.stats().sessions_closed == 1);
  CHECK(sim.stats().active_sessions == 0);
}

TEST_CASE("hundreds of sessions log in at once under a 1 s login latency", "[exasim][control]") {
  exasim::server sim;
  sim.start();
  sim.set_login_latency(1000ms);
  constexpr int logins = 200;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < logins; ++i)
    threads.emplace_back([&, i] {
      try {
        test_client c(sim.port(), i % 2 == 0);
        if (ok(c.login("sys", "exasol")) && ok(c.execute("SELECT 1")))
          ++succeeded;
      } catch (const std::exception& e) {
        WARN("login " << i << " failed: " << e.what());
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(succeeded == logins);
  CHECK(sim.stats().sessions_opened == logins);
  CHECK(sim.stats().failed_logins == 0);
}

TEST_CASE("a client that vanishes mid-statement frees its engine thread", "[exasim][control]") {
  exasim::server_options options;
  options.engine_threads = 1; // the endless statement would otherwise hold the only worker
  exasim::server sim(options);
  sim.start();
  test_client other(sim.port(), false);
  REQUIRE(ok(other.login("sys", "exasol")));
  {
    test_client vanishing(sim.port(), false);
    REQUIRE(ok(vanishing.login("sys", "exasol")));
    vanishing.send_json({{"command", "execute"},
                         {"sqlText", "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                                     "FROM r) SELECT COUNT(*) FROM r"}});
    std::this_thread::sleep_for(100ms); // let it reach SQLite (not needed for correctness)
  }
  CHECK(first_value(other.execute("SELECT 8")) == 8); // hangs if the worker stayed busy
  CHECK(eventually([&] { return sim.stats().active_sessions == 1; }));
}
