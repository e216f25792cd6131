// Remote sessions (actors/remote.hpp) across real processes on 127.0.0.1: this test process
// runs exasim, and either the pool node or a service node; tests/support/remote_node.cpp is
// the other processes. What the pool node did is checked from exasim's side too (its sessions),
// so a service node that opened connections of its own would show.
#include "actors/remote.hpp"
#include "actors/runtime.hpp"
#include "integration/exasim/server.hpp"
#include "tests/support/actor_requests.hpp"
#include "tests/support/child_process.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <memory>
#include <string>

using namespace exapool;
using namespace exapool::testing;
using namespace std::chrono_literals;

namespace {

const std::string node_exe = REMOTE_NODE_EXE;
const std::string password_env = "EXAPOOL_TEST_PASSWORD=exasol";

struct sim {
  exasim::server server{[] {
    exasim::server_options o;
    o.fresh_rsa_key_per_session = false;
    return o;
  }()};
  sim() { server.start(); }
  std::string dsn() const { return "127.0.0.1:" + std::to_string(server.port()); }
};

credentials sim_credentials(const sim& db) {
  credentials c;
  c.dsn = db.dsn();
  c.tls = false;
  c.user = "sys";
  c.password.value = "exasol";
  c.client_name = "exapool-remote-test";
  return c;
}

// This process as the pool node: pools of at most `size` connections.
runtime_config pool_node_config(std::size_t size) {
  runtime_config config;
  config.scheduler_threads = 2;
  config.pool.max_size = size;
  config.pool.shutdown_grace = 2s;
  config.remote_port = 0;
  return config;
}

std::string node_address(const runtime& rt) {
  return "127.0.0.1:" + std::to_string(rt.remote_port());
}

// The sum remote_node queries prints: SELECT 1..n twice.
std::string expected_sum(int n) {
  return std::to_string(n * (n + 1));
}

std::string thrown_by(const std::function<void()>& call, pool_errc* code = nullptr) {
  try {
    call();
  } catch (const runtime_error& e) {
    if (code)
      *code = e.code();
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("two processes: a service node's statements run on the pool node's connections",
          "[remote]") {
  sim db;
  runtime rt{pool_node_config(2)};
  auto creds = sim_credentials(db);
  child_process service{node_exe, {"queries", node_address(rt), db.dsn(), "40"}, {password_env}};
  // The pool node's prewarm report and stats, read by the service node: its 80 statements.
  CHECK(service.await_line("remote stats ") == "requested=1 borrowed=80 pools=1");
  CHECK(service.await_line("done ") == expected_sum(40));
  CHECK(service.exited_ok());
  auto stats = rt.stats(creds);
  CHECK(stats.borrowed >= 80);
  CHECK(stats.opened >= 1);
  CHECK(stats.opened <= 2);
  // Every session exasim ever opened is one of the pool node's: the service node opened none.
  CHECK(db.server.stats().sessions_opened == stats.opened);
  CHECK(db.server.stats().active_sessions == stats.total);
}

TEST_CASE("three processes: two service nodes share one pool of two connections", "[remote]") {
  sim db;
  runtime rt{pool_node_config(2)};
  auto creds = sim_credentials(db);
  child_process a{node_exe, {"queries", node_address(rt), db.dsn(), "100"}, {password_env}};
  child_process b{node_exe, {"queries", node_address(rt), db.dsn(), "100"}, {password_env}};
  CHECK(a.await_line("done ") == expected_sum(100));
  CHECK(b.await_line("done ") == expected_sum(100));
  CHECK(a.exited_ok());
  CHECK(b.exited_ok());
  auto stats = rt.stats(creds);
  CHECK(stats.borrowed >= 400);
  CHECK(stats.opened <= 2);
  CHECK(db.server.stats().sessions_opened == stats.opened);
}

TEST_CASE("a service node that dies has its lease taken back and its transaction rolled back",
          "[remote]") {
  sim db;
  runtime rt{pool_node_config(2)};
  auto creds = sim_credentials(db);
  rt.execute(creds, "CREATE TABLE held (x INT)");
  child_process service{node_exe, {"hold", node_address(rt), db.dsn()}, {password_env}};
  REQUIRE(service.await_line("holding").has_value());
  CHECK(rt.stats(creds).leased == 1);
  service.kill(SIGKILL);
  service.wait();
  // The pool node notices the node is gone (its borrower's monitor fires), rolls back and
  // takes the connection back.
  CHECK(eventually([&] { return rt.stats(creds).leased == 0; }));
  auto stats = rt.stats(creds);
  CHECK(stats.reclaimed >= 1);
  auto rows = rt.query(creds, "SELECT COUNT(*) FROM held");
  CHECK(rows.at(0, 0) == exasol::value{std::int64_t{0}});
  CHECK(db.server.stats().active_sessions == rt.stats(creds).total);
}

TEST_CASE("a service node outlives its pool node: calls fail naming it, then reconnect",
          "[remote]") {
  sim db;
  auto creds = sim_credentials(db);
  auto node = std::make_unique<child_process>(node_exe, std::vector<std::string>{"pool-node", "0"});
  auto port = node->await_line("port ");
  REQUIRE(port.has_value());
  auto address = "127.0.0.1:" + *port;
  runtime_config config;
  config.scheduler_threads = 2;
  config.pool_node = address;
  runtime rt{config};
  CHECK(rt.query(creds, "SELECT 7").at(0, 0) == exasol::value{std::int64_t{7}});

  node->kill(SIGKILL);
  node->wait();
  pool_errc code = pool_errc::none;
  auto text = thrown_by([&] { rt.query(creds, "SELECT 8"); }, &code);
  INFO(text);
  CHECK((code == pool_errc::connect_failed || code == pool_errc::connection_lost));
  CHECK(text.find("exapool") == 0);

  // The pool node is back on the same port: the same runtime carries on.
  node = std::make_unique<child_process>(node_exe, std::vector<std::string>{"pool-node", *port});
  REQUIRE(node->await_line("port ") == *port);
  CHECK(eventually([&] {
    try {
      return rt.query(creds, "SELECT 9").at(0, 0) == exasol::value{std::int64_t{9}};
    } catch (const runtime_error&) {
      return false;
    }
  }));
  node->kill(SIGTERM);
  CHECK(node->await_line("stopped").has_value());
  CHECK(node->exited_ok());
  CHECK(eventually([&] { return db.server.stats().active_sessions == 0; }));
}

TEST_CASE("a service node's shutdown leaves the pool node's pools alone", "[remote]") {
  sim db;
  runtime pool{pool_node_config(2)};
  auto creds = sim_credentials(db);
  CHECK(pool.query(creds, "SELECT 1").at(0, 0) == exasol::value{std::int64_t{1}});
  child_process service{node_exe, {"queries", node_address(pool), db.dsn(), "3"}, {password_env}};
  CHECK(service.await_line("done ") == expected_sum(3));
  CHECK(service.exited_ok()); // its runtime shut down and stopped on the way out
  auto stats = pool.stats(creds);
  CHECK(stats.total >= 1);
  CHECK(db.server.stats().active_sessions == stats.total);
  CHECK(pool.query(creds, "SELECT 2").at(0, 0) == exasol::value{std::int64_t{2}});
}

TEST_CASE("a pool node ignores a remote shutdown and a remote exit", "[remote]") {
  sim db;
  runtime pool{pool_node_config(2)};
  auto creds = sim_credentials(db);
  CHECK(pool.query(creds, "SELECT 1").at(0, 0) == exasol::value{std::int64_t{1}});
  child_process peer{node_exe, {"hostile", node_address(pool)}};
  auto refused = peer.await_line("shutdown: ");
  REQUIRE(refused.has_value());
  CHECK(refused->find("invalid_config") != std::string::npos);
  CHECK(refused->find("shut down by its own process") != std::string::npos);
  CHECK(peer.await_line("exit sent").has_value());
  CHECK(peer.exited_ok());
  // The pools are untouched, and the port still serves service nodes.
  CHECK(pool.stats(creds).total >= 1);
  CHECK(db.server.stats().active_sessions == pool.stats(creds).total);
  child_process service{node_exe, {"queries", node_address(pool), db.dsn(), "5"}, {password_env}};
  CHECK(service.await_line("done ") == expected_sum(5));
  CHECK(service.exited_ok());
}

TEST_CASE("a wrong pool node address fails the runtime's start naming the problem",
          "[remote][errors]") {
  runtime_config config;
  config.scheduler_threads = 1;
  SECTION("not host:port") {
    config.pool_node = "localhost";
    pool_errc code = pool_errc::none;
    auto text = thrown_by([&] { runtime rt{config}; }, &code);
    CHECK(code == pool_errc::invalid_config);
    CHECK(text.find("exapool.pool-node") != std::string::npos);
    CHECK(text.find("host:port") != std::string::npos);
  }
  SECTION("nothing listens there") {
    config.pool_node = "127.0.0.1:1";
    pool_errc code = pool_errc::none;
    auto text = thrown_by([&] { runtime rt{config}; }, &code);
    CHECK(code == pool_errc::connect_failed);
    CHECK(text.find("pool node 127.0.0.1:1: nothing listens there") != std::string::npos);
  }
  SECTION("an admin endpoint is not a pool node") {
    runtime_config admin_config;
    admin_config.scheduler_threads = 1;
    admin_config.admin_port = 0;
    runtime admin{admin_config};
    config.pool_node = "127.0.0.1:" + std::to_string(admin.admin_port());
    pool_errc code = pool_errc::none;
    auto text = thrown_by([&] { runtime rt{config}; }, &code);
    CHECK(code == pool_errc::connect_failed);
    CHECK(text.find("not an exapool pool node") != std::string::npos);
  }
  SECTION("a pool node cannot also be a service node") {
    config.pool_node = "127.0.0.1:7434";
    config.remote_port = 0;
    pool_errc code = pool_errc::none;
    thrown_by([&] { runtime rt{config}; }, &code);
    CHECK(code == pool_errc::invalid_config);
  }
}
