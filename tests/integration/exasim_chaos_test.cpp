// exasim's chaos knobs for the reliability suite: drop a random live session, latency spikes,
// refuse new connections for a while, and a server restart on the same port.
#include "exasim_test_checks.hpp"
#include "tests/support/exasim_test_client.hpp"

#include "integration/exasim/server.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

using exasim_test::eventually;
using exasim_test::first_value;
using exasim_test::ok;
using exasim_test::session_id_of;
using exasim_test::sql_code;
using exasim_test::test_client;
namespace json = boost::json;
using namespace std::chrono_literals;

TEST_CASE("drop_any_session drops the live session the pick names", "[exasim][chaos]") {
  exasim::server sim;
  sim.start();
  CHECK_FALSE(sim.drop_any_session(3)); // nobody to drop
  test_client a(sim.port(), false), b(sim.port(), true), c(sim.port(), false);
  std::vector<std::uint64_t> ids{session_id_of(a.login("sys", "exasol")),
                                 session_id_of(b.login("sys", "exasol")),
                                 session_id_of(c.login("sys", "exasol"))};
  REQUIRE(sim.session_ids() == ids);      // ascending
  auto dropped = sim.drop_any_session(4); // 4 % 3 = 1: the second session
  REQUIRE(dropped);
  CHECK(*dropped == ids[1]);
  CHECK(b.receive_error());
  CHECK_FALSE(b.last_close_was_frame()); // as KILL SESSION: no Close frame
  CHECK(sim.stats().active_sessions == 2);
  CHECK(first_value(a.execute("SELECT 1")) == 1);
  CHECK(first_value(c.execute("SELECT 1")) == 1);
}

TEST_CASE("latency spikes delay queries like query latency", "[exasim][chaos]") {
  exasim::server sim;
  sim.start();
  test_client c(sim.port(), false);
  REQUIRE(ok(c.login("sys", "exasol", 3, {{"attributes", {{"queryTimeout", 1}}}})));
  sim.set_latency_spikes(1.0, 60000ms); // every query: a spike the 1 s queryTimeout ends
  CHECK(sql_code(c.execute("SELECT 1")) == "R0001");
  sim.set_latency_spikes(0.0, 60000ms);
  CHECK(first_value(c.execute("SELECT 2")) == 2);

  CHECK(sim.stats().latency_spikes == 1);

  // With probability 1/2 about half the queries spike (a seeded generator: reproducible).
  sim.set_latency_spikes(0.5, 1ms);
  for (int i = 0; i < 40; ++i)
    REQUIRE(first_value(c.execute("SELECT 3")) == 3);
  auto spikes = sim.stats().latency_spikes - 1;
  CHECK(spikes > 5);
  CHECK(spikes < 35);
}

TEST_CASE("set_accepting(false) refuses new connections while sessions go on", "[exasim][chaos]") {
  exasim::server sim;
  sim.start();
  auto port = sim.port();
  test_client member(port, false);
  REQUIRE(ok(member.login("sys", "exasol")));
  sim.set_accepting(false);
  CHECK_THROWS(test_client(port, false)); // connection refused
  CHECK(first_value(member.execute("SELECT 1")) == 1);
  sim.set_accepting(false); // idempotent
  sim.set_accepting(true);
  CHECK(sim.port() == port);
  test_client newcomer(port, false);
  CHECK(ok(newcomer.login("sys", "exasol")));
  sim.set_accepting(true); // idempotent
  CHECK(sim.stats().active_sessions == 2);
}

TEST_CASE("stop and start again is a server restart on the same port", "[exasim][chaos]") {
  exasim::server sim;
  sim.start();
  auto port = sim.port();
  auto fingerprint = sim.fingerprint();
  test_client before(port, true);
  auto old_id = session_id_of(before.login("sys", "exasol"));
  REQUIRE(ok(before.execute("CREATE TABLE kept (v INT)")));
  REQUIRE(ok(before.execute("INSERT INTO kept VALUES (42)")));
  before.send_raw("{\"command\": 17}", false); // a bad request, to see counters carry over
  REQUIRE(before.receive().at("status") == "error");

  sim.stop();
  CHECK(before.receive_error()); // the restart ends every session
  CHECK_THROWS(test_client(port, false));
  sim.start();

  CHECK(sim.port() == port);
  CHECK(sim.fingerprint() == fingerprint); // pinned clients reconnect
  test_client after(port, true);
  CHECK(after.fingerprint() == fingerprint);
  auto new_id = session_id_of(after.login("sys", "exasol"));
  CHECK(new_id > old_id);
  CHECK(first_value(after.execute("SELECT v FROM kept")) == 42); // the data survived
  auto stats = sim.stats();
  CHECK(stats.sessions_opened == 2);
  CHECK(stats.sessions_closed == 1);
  CHECK(stats.active_sessions == 1);
  CHECK(stats.requests >= 4);
  CHECK(sim.session_ids() == std::vector<std::uint64_t>{new_id});
}
