// What `exapool stats` shows of a proxy (issue 9, point 7), read over the network from the
// admin endpoint as the command reads it: per pool, the clients connected, how many hold a
// connection (active) and wait, and the upstream connections, as pgbouncer's SHOW POOLS.
#include "actors/admin_client.hpp"
#include "tests/proxy/proxy_fixture.hpp"

#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <thread>

using namespace exapool;
using namespace exapool::ptest;

namespace {

// The stats client's side: an actor system of its own, as in another process.
std::vector<pool_stats> stats_over_network(std::uint16_t port) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 1);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  return fetch_stats(sys, "127.0.0.1", port, 10s);
}

} // namespace

TEST_CASE("exapool stats shows a proxy pool's clients, active and waiting, and its connections") {
  proxy_setup setup(proxy_mode::transaction, 2);
  setup.admin_endpoint = true;
  proxy_fixture f(setup);
  REQUIRE(f.pools().admin_port() != 0);
  auto a = f.connect();
  auto b = f.connect();
  auto c = f.connect();
  a->execute("CREATE TABLE t (x INTEGER)");
  a->set_attributes({{"autocommit", false}});
  a->execute("INSERT INTO t VALUES (1)"); // a holds a connection (pinned)
  CHECK(first_int(b->query("SELECT 1")) == 1);
  auto pools = stats_over_network(f.pools().admin_port());
  REQUIRE(pools.size() == 1);
  CHECK(pools[0].clients == 3);
  CHECK(pools[0].leased == 1); // active: a's pin; b and c hold nothing between statements
  CHECK(pools[0].waiting == 0);
  CHECK(pools[0].total == 2); // upstream connections
  CHECK(pools[0].total == f.sim().stats().active_sessions);
  CHECK(pools[0].label.find("exasol") == std::string::npos); // never the password
  // A client that leaves is no longer counted (the pool hears of it when its actor ends: a
  // hang guard, not a timing assertion).
  c->disconnect();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (stats_over_network(f.pools().admin_port()).at(0).clients != 2 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(stats_over_network(f.pools().admin_port()).at(0).clients == 2);
  a->execute("ROLLBACK");
}
