// initialization-fail-timeout (issue 11 point 5) against exasim: prewarm and a runtime's start
// fail with the cause when the database cannot be reached in time or refuses the credentials,
// wait for a database that comes up in time, and with 0 answer a report as before. Time
// bounds here are logical ones (a refusal returns before a 60 s limit; a retry runs at least
// until its limit), never measured performance.
#include "runtime_support.hpp"
#include "tests/support/runtime_errors.hpp"

#include "messages/stats_json.hpp"

using namespace exapool;
using exapool::testing::thrown_by;
using namespace exapool::itest;

namespace {

using steady = std::chrono::steady_clock;

// A port nobody listens on now: exasim's, once it stopped.
std::uint16_t closed_port() {
  sim gone;
  return gone.server.port();
}

credentials credentials_for_port(std::uint16_t port) {
  credentials c;
  c.dsn = "127.0.0.1:" + std::to_string(port);
  c.user = "sys";
  c.password.value = "exasol-init-secret";
  c.connect_timeout = 2s;
  c.socket_timeout = 10s;
  return c;
}

} // namespace

TEST_CASE("prewarm fails at once with the cause when the server refuses the credentials",
          "[prewarm][init_fail]") {
  sim db;
  auto config = sim_runtime_config();
  config.initialization_fail_timeout = 60s; // a refusal is not waited out
  runtime rt{config};
  auto creds = sim_credentials(db.server);
  creds.password.value = "wrong-init-secret";
  auto start = steady::now();
  auto e = thrown_by([&] { rt.prewarm(creds, 2); });
  CHECK(steady::now() - start < config.initialization_fail_timeout / 2);
  CHECK(e.code() == pool_errc::authentication_failed);
  std::string text = e.what();
  INFO(text);
  CHECK(text.find("prewarm") != std::string::npos);
  CHECK(text.find(pool_label(creds)) != std::string::npos);
  CHECK(text.find("wrong-init-secret") == std::string::npos);
  CHECK(db.stats().sessions_opened == 0);
  CHECK(db.stats().failed_logins >= 1);
}

TEST_CASE("prewarm fails with connect_failed once initialization-fail-timeout passed",
          "[prewarm][init_fail]") {
  auto config = sim_runtime_config();
  config.initialization_fail_timeout = 400ms;
  runtime rt{config};
  auto creds = credentials_for_port(closed_port());
  auto start = steady::now();
  auto e = thrown_by([&] { rt.prewarm(creds, 2); });
  CHECK(steady::now() - start >= config.initialization_fail_timeout); // it kept trying
  CHECK(e.code() == pool_errc::connect_failed);
  std::string text = e.what();
  INFO(text);
  CHECK(text.find("exapool.initialization-fail-timeout") != std::string::npos);
  CHECK(text.find(creds.dsn) != std::string::npos); // the cause names the address
  CHECK(text.find("exasol-init-secret") == std::string::npos);
  CHECK(rt.stats(creds).connect_failures >= 1);
}

TEST_CASE("prewarm waits for a database that comes up within initialization-fail-timeout",
          "[prewarm][init_fail]") {
  auto options = sim_options();
  options.port = closed_port();
  exasim::server late{options};
  auto config = sim_runtime_config();
  config.initialization_fail_timeout = 30s;
  runtime rt{config};
  auto creds = sim_credentials(late); // the port is known before the server starts
  creds.dsn = "127.0.0.1:" + std::to_string(options.port);
  std::thread starter([&] {
    std::this_thread::sleep_for(300ms);
    late.start();
  });
  prewarm_report report;
  try {
    report = rt.prewarm(creds, 2);
  } catch (...) {
    starter.join();
    throw;
  }
  starter.join();
  CHECK(report.opened == 2);
  CHECK(report.cause == pool_errc::none);
  CHECK(late.stats().active_sessions == 2);
  CHECK(rt.stats(creds).connect_failures >= 1); // it did fail before the server came up
}

TEST_CASE("initialization-fail-timeout 0: prewarm reports failures and does not throw",
          "[prewarm][init_fail]") {
  auto config = sim_runtime_config();
  config.initialization_fail_timeout = 0s;
  runtime rt{config};
  auto report = rt.prewarm(credentials_for_port(closed_port()), 2);
  CHECK(report.opened == 0);
  CHECK(report.failures.size() == 2);
  CHECK(report.cause == pool_errc::connect_failed);
}

TEST_CASE("a runtime with prewarm_at_start opens its pools or fails to start with the cause",
          "[prewarm][init_fail][runtime]") {
  sim db;
  auto good = sim_credentials(db.server);
  SECTION("the database is there: the constructor opened the pool") {
    auto config = sim_runtime_config();
    config.pool.min_idle = 2;
    config.prewarm_at_start = {good};
    runtime rt{config};
    CHECK(db.stats().active_sessions == 2);
    CHECK(rt.stats(good).opened == 2);
    rt.shutdown();
    CHECK(db.stats().active_sessions == 0);
  }
  SECTION("a wrong password: the constructor throws authentication_failed") {
    auto bad = good;
    bad.password.value = "start-secret-4410";
    auto config = sim_runtime_config();
    config.prewarm_at_start = {good, bad};
    auto e = thrown_by([&] { runtime rt{config}; });
    CHECK(e.code() == pool_errc::authentication_failed);
    CHECK(std::string(e.what()).find("start-secret-4410") == std::string::npos);
    // What the constructor opened before it failed is closed again.
    CHECK(eventually([&] { return db.stats().active_sessions == 0; }));
  }
  SECTION("an unreachable database: the constructor throws connect_failed") {
    auto config = sim_runtime_config();
    config.initialization_fail_timeout = 200ms;
    config.prewarm_at_start = {credentials_for_port(closed_port())};
    auto e = thrown_by([&] { runtime rt{config}; });
    CHECK(e.code() == pool_errc::connect_failed);
    CHECK(std::string(e.what()).find("initialization-fail-timeout") != std::string::npos);
  }
  SECTION("on an actor system of the service's own, which lives on") {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", 2);
    runtime::configure(cfg);
    caf::actor_system sys{cfg};
    auto before = sys.registry().running();
    auto bad = good;
    bad.password.value = "start-secret-4411";
    auto config = sim_runtime_config();
    config.prewarm_at_start = {bad};
    auto e = thrown_by([&] { runtime rt{sys, config}; });
    CHECK(e.code() == pool_errc::authentication_failed);
    CHECK(eventually([&] { return sys.registry().running() == before; }));
  }
}
