// Issue 11 point 5 over the fake backend: the error kind and the server's sqlCode as fields
// (info_of for actor code, runtime_error::sql_code for the blocking API), and the pool's name
// (pool_config::name, exapool.pool-name): validated, in the stats and in acquire timeouts.
#include "actors/runtime_options.hpp"
#include "messages/stats_json.hpp"
#include "runtime_fake_support.hpp"
#include "tests/support/runtime_errors.hpp"

#include <sstream>

using namespace exapool;
using exapool::testing::thrown_by;
using namespace exapool::test;

namespace {

runtime_config parsed(std::vector<std::string> args, std::string ini = "") {
  runtime_system_config cfg;
  std::istringstream ini_stream{ini};
  auto err = cfg.parse(std::move(args), ini_stream);
  REQUIRE_FALSE(err);
  return cfg.to_runtime_config();
}

} // namespace

TEST_CASE("info_of reads the kind, the sqlCode and the text of an error", "[errors][info]") {
  auto server = make_error(pool_errc::server_error, "[42000] syntax error", "42000");
  auto info = info_of(server);
  CHECK(info.kind == pool_errc::server_error);
  CHECK(info.sql_code == "42000");
  CHECK(info.text == "[42000] syntax error");
  CHECK(context_of(server) == "[42000] syntax error"); // the text reads as before
  CHECK(sql_code_of(server) == "42000");
  CHECK(code_of(server) == pool_errc::server_error);

  auto pool = make_error(pool_errc::acquire_timeout, "no connection within 30000 ms");
  CHECK(info_of(pool).kind == pool_errc::acquire_timeout);
  CHECK(info_of(pool).sql_code.empty());
  CHECK(info_of(pool).text == "no connection within 30000 ms");
  // An empty sqlCode makes the same error as make_error(code, text).
  CHECK(make_error(pool_errc::connection_lost, "gone", "").context().size() == 1);

  CHECK(info_of(make_error(pool_errc::shutting_down)).text.empty());
  auto none = info_of(caf::error{});
  CHECK(none.kind == pool_errc::none);
  CHECK(none.sql_code.empty());
  auto other = info_of(caf::make_error(caf::sec::request_timeout));
  CHECK(other.kind == pool_errc::none);
  CHECK(other.sql_code.empty());
}

TEST_CASE("the runtime renders an error with a sqlCode by its text", "[errors][info]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  auto text = rt.system().render(make_error(pool_errc::server_error, "[42000] bad", "42000"));
  CHECK(text == "exapool server_error: [42000] bad");
}

TEST_CASE("a server error's sqlCode is a field, for actors and the blocking API",
          "[errors][info][session]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.max_size = 1;
  config.pool.acquire_timeout = 100ms;
  runtime rt{config};
  auto creds = fake_credentials();
  caf::scoped_actor self{rt.system()};
  auto session = rt.spawn_session(creds);

  // "fail" is the fake's SQL error, sqlCode 42000.
  auto err = ask_error<query_result>(self, session, execute_atom::value, std::string("fail"));
  auto info = info_of(err);
  CHECK(info.kind == pool_errc::server_error);
  CHECK(info.sql_code == "42000");
  auto e = thrown_by([&] { rt.execute(creds, "fail"); });
  CHECK(e.code() == pool_errc::server_error);
  CHECK(e.sql_code() == "42000");

  // Inside a transaction too.
  CHECK(ask<bool>(self, session, begin_atom::value));
  auto in_tx = ask_error<query_result>(self, session, execute_atom::value, std::string("fail"));
  CHECK(info_of(in_tx).sql_code == "42000");

  // Not from the server: no sqlCode. The one connection is held by the transaction.
  auto timeout = thrown_by([&] { rt.execute(creds, "x"); });
  CHECK(timeout.code() == pool_errc::acquire_timeout);
  CHECK(timeout.sql_code().empty());
  auto other = rt.spawn_session(creds);
  auto waited = ask_error<query_result>(self, other, execute_atom::value, std::string("x"));
  CHECK(info_of(waited).kind == pool_errc::acquire_timeout);
  CHECK(info_of(waited).sql_code.empty());
  CHECK(ask<bool>(self, session, rollback_atom::value));
  self->send_exit(other, caf::exit_reason::user_shutdown);
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("pool names: 1 to 128 printable characters, errors name the option",
          "[pool_name][runtime_options]") {
  CHECK_FALSE(check_pool_name("orders", "opt"));
  CHECK_FALSE(check_pool_name("etl: nightly (eu-1)", "opt"));
  CHECK_FALSE(check_pool_name(std::string(max_pool_name_length, 'x'), "opt"));
  for (const std::string& bad :
       {std::string(), std::string(max_pool_name_length + 1, 'x'), std::string("tab\there"),
        std::string("new\nline"), std::string("caf\xc3\xa9"), std::string(" lead"),
        std::string("trail ")}) {
    INFO(bad);
    auto err = check_pool_name(bad, "exapool.pool-name");
    CHECK(code_of(err) == pool_errc::invalid_config);
    CHECK(context_of(err).find("exapool.pool-name") != std::string::npos);
  }
}

TEST_CASE("pool-name comes from --exapool.pool-name or the ini file, unset by default",
          "[pool_name][runtime_options]") {
  CHECK(parsed({"--exapool.max-size=2"}).pool.name.empty());
  CHECK(pool_config{}.name.empty());
  CHECK(parsed({"--exapool.max-size=2", "--exapool.pool-name=orders"}).pool.name == "orders");
  CHECK(parsed({"--exapool.max-size=2"}, "[exapool]\npool-name=\"etl nightly\"\n").pool.name ==
        "etl nightly");
  {
    // CAF's parser refuses an empty value on the command line, naming the option.
    runtime_system_config cfg;
    std::istringstream no_ini;
    auto err = cfg.parse({"--exapool.pool-name="}, no_ini);
    REQUIRE(err);
    INFO(to_string(err));
    CHECK(to_string(err).find("exapool.pool-name") != std::string::npos);
  }
  {
    // An empty value from the ini file is refused by exapool's check.
    runtime_system_config cfg;
    std::istringstream ini{"[exapool]\npool-name=\"\"\n"};
    REQUIRE_FALSE(cfg.parse({"--exapool.max-size=2"}, ini));
    auto e = thrown_by([&] { cfg.to_runtime_config(); });
    CHECK(e.code() == pool_errc::invalid_config);
    CHECK(std::string(e.what()).find("exapool.pool-name") != std::string::npos);
    CHECK(std::string(e.what()).find("empty") != std::string::npos);
  }
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--exapool.max-size=2",
                                 "--exapool.pool-name=" + std::string(200, 'n')},
        std::vector<std::string>{"--exapool.max-size=2", "--exapool.pool-name=a\tb"}}) {
    INFO(args.back());
    runtime_system_config cfg;
    std::istringstream no_ini;
    REQUIRE_FALSE(cfg.parse(args, no_ini));
    auto e = thrown_by([&] { cfg.to_runtime_config(); });
    CHECK(e.code() == pool_errc::invalid_config);
    CHECK(std::string(e.what()).find("exapool.pool-name") != std::string::npos);
  }
  // A runtime_config made in code is checked as well.
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.name = "bad\x01name";
  auto e = thrown_by([&] { runtime rt{config}; });
  CHECK(e.code() == pool_errc::invalid_config);
  CHECK(std::string(e.what()).find("pool-name") != std::string::npos);
}

TEST_CASE("a pool is named by its label by default, never with a secret", "[pool_name][stats]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{fake_runtime_config(plan)};
  auto creds = fake_credentials("pool-name-secret-77");
  creds.schema = "STAGE";
  rt.execute(creds, "x");
  auto s = rt.stats(creds);
  CHECK(s.name == "sys@fake:8563/STAGE");
  CHECK(s.name == s.label);
  CHECK(s.name.find("pool-name-secret-77") == std::string::npos);
  auto all = rt.stats();
  REQUIRE(all.size() == 1);
  CHECK(all.front().name == "sys@fake:8563/STAGE");
  auto json = stats_to_json(all);
  CHECK(json.find("\"name\":\"sys@fake:8563/STAGE\"") != std::string::npos);
  CHECK(stats_from_json(json).front().name == "sys@fake:8563/STAGE");
  auto final_stats = rt.shutdown();
  REQUIRE(final_stats.size() == 1);
  CHECK(final_stats.front().name == "sys@fake:8563/STAGE");
}

TEST_CASE("a configured pool name is in the stats and in acquire timeouts",
          "[pool_name][stats][errors]") {
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.pool.name = "orders-db";
  config.pool.max_size = 1;
  config.pool.acquire_timeout = 100ms;
  runtime rt{config};
  auto creds = fake_credentials();
  rt.execute(creds, "x");
  CHECK(rt.stats(creds).name == "orders-db");
  CHECK(rt.stats(creds).label == "sys@fake:8563");

  caf::scoped_actor self{rt.system()};
  auto tx = rt.spawn_session(creds);
  CHECK(ask<bool>(self, tx, begin_atom::value)); // holds the one connection
  auto e = thrown_by([&] { rt.execute(creds, "x"); });
  CHECK(e.code() == pool_errc::acquire_timeout);
  CHECK(std::string(e.what()).find("pool \"orders-db\"") != std::string::npos);
  auto session = rt.spawn_session(creds);
  auto err = ask_error<query_result>(self, session, execute_atom::value, std::string("x"));
  CHECK(code_of(err) == pool_errc::acquire_timeout);
  CHECK(context_of(err).find("pool \"orders-db\"") != std::string::npos);
  CHECK(ask<bool>(self, tx, rollback_atom::value));
  self->send_exit(tx, caf::exit_reason::user_shutdown);
  self->send_exit(session, caf::exit_reason::user_shutdown);
}

TEST_CASE("initialization-fail-timeout: 1ms by default, from the options, never negative",
          "[init_fail][runtime_options]") {
  CHECK(runtime_config{}.initialization_fail_timeout == caf::timespan{1ms});
  CHECK(parsed({"--exapool.max-size=2"}).initialization_fail_timeout == caf::timespan{1ms});
  CHECK(parsed({"--exapool.max-size=2", "--exapool.initialization-fail-timeout=20s"})
            .initialization_fail_timeout == caf::timespan{20s});
  CHECK(parsed({"--exapool.max-size=2"}, "[exapool]\ninitialization-fail-timeout=0s\n")
            .initialization_fail_timeout == caf::timespan{0s});
  runtime_system_config cfg;
  std::istringstream no_ini;
  auto err =
      cfg.parse({"--exapool.max-size=2", "--exapool.initialization-fail-timeout=-1s"}, no_ini);
  if (!err) { // CAF reads a negative span: exapool refuses it by name
    auto e = thrown_by([&] { cfg.to_runtime_config(); });
    CHECK(e.code() == pool_errc::invalid_config);
    CHECK(std::string(e.what()).find("exapool.initialization-fail-timeout") != std::string::npos);
  }
  auto plan = std::make_shared<fake_plan>();
  auto config = fake_runtime_config(plan);
  config.initialization_fail_timeout = -1s;
  auto e = thrown_by([&] { runtime rt{config}; });
  CHECK(e.code() == pool_errc::invalid_config);
  CHECK(std::string(e.what()).find("initialization-fail-timeout") != std::string::npos);
}

TEST_CASE("prewarm over fakes that cannot open: the cause as the error, or the report with 0",
          "[init_fail][prewarm]") {
  auto plan = std::make_shared<fake_plan>();
  plan->fail_every_open = true;
  SECTION("a refused login fails at once, however long the timeout") {
    plan->failures_are_auth = true;
    auto config = fake_runtime_config(plan);
    config.initialization_fail_timeout = 60s;
    runtime rt{config};
    auto e = thrown_by([&] { rt.prewarm(fake_credentials("init-secret-1"), 2); });
    CHECK(e.code() == pool_errc::authentication_failed);
    CHECK(std::string(e.what()).find("sys@fake:8563") != std::string::npos);
    CHECK(std::string(e.what()).find("init-secret-1") == std::string::npos);
  }
  SECTION("any other failure: connect_failed once the time is up") {
    auto config = fake_runtime_config(plan);
    config.initialization_fail_timeout = 50ms;
    runtime rt{config};
    auto e = thrown_by([&] { rt.prewarm(fake_credentials(), 2); });
    CHECK(e.code() == pool_errc::connect_failed);
    CHECK(std::string(e.what()).find("initialization-fail-timeout") != std::string::npos);
  }
  SECTION("0: no check, the report says why") {
    auto config = fake_runtime_config(plan);
    config.initialization_fail_timeout = 0s;
    runtime rt{config};
    auto report = rt.prewarm(fake_credentials(), 2);
    CHECK(report.opened == 0);
    CHECK(report.failures.size() == 2);
    CHECK(report.cause == pool_errc::connect_failed);
  }
  SECTION("prewarm_at_start: the constructor throws the cause") {
    plan->failures_are_auth = true;
    auto config = fake_runtime_config(plan);
    config.prewarm_at_start = {fake_credentials()};
    auto e = thrown_by([&] { runtime rt{config}; });
    CHECK(e.code() == pool_errc::authentication_failed);
  }
}
