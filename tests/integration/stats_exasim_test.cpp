// The admin endpoint against exasim: what `exapool stats` reads agrees with the server's own
// session count, a rejected login shows as a connect error without the password, and the
// client gives up with a clear error on a port where something else (exasim) listens.
#include "actors/admin_client.hpp"
#include "messages/stats_json.hpp"
#include "runtime_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <caf/io/middleman.hpp>

#include <memory>

using namespace exapool;
using namespace exapool::itest;

namespace {

// `exapool stats`'s side: an actor system of its own with the io middleman.
struct stats_client {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  stats_client() {
    cfg.set("scheduler.max-threads", 2);
    cfg.load<caf::io::middleman>();
    runtime::configure(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

} // namespace

TEST_CASE("admin endpoint stats agree with exasim's sessions", "[stats][admin]") {
  sim db;
  auto config = sim_runtime_config();
  config.admin_port = 0;
  runtime rt{config};
  auto good = sim_credentials(db.server);
  auto bad = good;
  bad.user = "nobody";
  bad.password.value = "wrong-Secret-pw";
  for (int i = 0; i < 4; ++i)
    CHECK(first_int(rt.query(good, "SELECT 1")) == 1);
  CHECK_THROWS_AS(rt.query(bad, "SELECT 1"), runtime_error);

  stats_client client;
  auto json = fetch_stats_json(*client.sys, "127.0.0.1", rt.admin_port(), 20s);
  CHECK(json.find("Secret") == std::string::npos);
  CHECK(json.find("exasol\"") == std::string::npos); // the good password either
  auto pools = stats_from_json(json);
  REQUIRE(pools.size() == 2);
  for (const auto& pool : pools) {
    if (pool.label == pool_label(good)) {
      CHECK(pool.borrowed == 4);
      CHECK(pool.returned == 4);
      CHECK(pool.opened == db.stats().sessions_opened); // the refused login opened none
      CHECK(pool.total == db.stats().active_sessions);
      CHECK(pool.connect_failures == 0);
    } else {
      CHECK(pool.label == "nobody@127.0.0.1:" + std::to_string(db.server.port()));
      CHECK(pool.opened == 0);
      CHECK(pool.connect_failures >= 1);
      CHECK_FALSE(pool.last_connect_error.empty());
    }
  }
}

TEST_CASE("stats client gives up on a port that does not speak CAF", "[stats][admin][errors]") {
  sim db; // listens for WebSocket upgrades, not for CAF's handshake
  stats_client client;
  std::string text = "no error";
  try {
    fetch_stats(*client.sys, "127.0.0.1", db.server.port(), 2s);
  } catch (const runtime_error& e) {
    text = e.what();
  }
  CHECK(text.find("exapool stats from 127.0.0.1:" + std::to_string(db.server.port())) !=
        std::string::npos);
  CHECK(text.find("not an exapool admin endpoint") != std::string::npos);
}

TEST_CASE("stats client gives up on a port that accepts and stays silent",
          "[stats][admin][errors]") {
  // A listening socket nobody serves: the kernel accepts the connection, nothing ever answers
  // (CAF's own remote_actor would wait forever here).
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  auto port = silent.local_endpoint().port();
  stats_client client;
  std::string text = "no error";
  try {
    fetch_stats(*client.sys, "127.0.0.1", port, 300ms);
  } catch (const runtime_error& e) {
    text = e.what();
  }
  CHECK(text.find("127.0.0.1:" + std::to_string(port) + ": no answer within 300 ms") !=
        std::string::npos);
}
