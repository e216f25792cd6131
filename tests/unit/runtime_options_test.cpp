#include "actors/runtime_options.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <sstream>

using namespace exapool;
using namespace std::chrono_literals;

namespace {

// Parses command-line style options (no ini file) into a fresh config.
void parse(runtime_system_config& cfg, std::vector<std::string> args, std::string ini = "") {
  std::istringstream ini_stream{ini};
  auto err = cfg.parse(std::move(args), ini_stream);
  REQUIRE_FALSE(err);
}

// Each case: options that no pool can run with, and the option its error must name.
using bad_options = std::vector<std::pair<std::vector<std::string>, std::string>>;

void check_refused_by_name(const bad_options& cases) {
  for (const auto& [args, option] : cases) {
    INFO(option);
    runtime_system_config cfg;
    parse(cfg, args);
    try {
      cfg.to_runtime_config();
      FAIL("accepted a bad " << option);
    } catch (const runtime_error& e) {
      CHECK(e.code() == pool_errc::invalid_config);
      CHECK(std::string(e.what()).find(option) != std::string::npos);
    }
  }
}

} // namespace

TEST_CASE("pool options come from --exapool.key=value", "[runtime_options]") {
  runtime_system_config cfg;
  parse(cfg, {"--exapool.max-size=8", "--exapool.acquire-timeout=2s", "--exapool.min-idle=2",
              "--exapool.validation-bypass=250ms"});
  auto config = cfg.to_runtime_config();
  CHECK(config.pool.max_size == 8);
  CHECK(config.pool.min_idle == 2);
  CHECK(config.pool.acquire_timeout == caf::timespan{2s});
  CHECK(config.pool.validation_bypass == caf::timespan{250ms});
  CHECK(config.pool.idle_timeout == pool_config{}.idle_timeout); // untouched: the default
}

TEST_CASE("pool options come from the [exapool] group of an ini file", "[runtime_options]") {
  runtime_system_config cfg;
  parse(cfg, {}, "[exapool]\nmax-size=3\nshutdown-grace=1s\n");
  auto config = cfg.to_runtime_config();
  CHECK(config.pool.max_size == 3);
  CHECK(config.pool.shutdown_grace == caf::timespan{1s});
}

TEST_CASE("an unset max-size comes from the environment", "[runtime_options]") {
  setenv("EXAPOOL_POOL_SIZE", "6", 1);
  {
    runtime_system_config cfg;
    parse(cfg, {});
    CHECK(cfg.to_runtime_config().pool.max_size == 6);
  }
  {
    runtime_system_config cfg; // an explicit option wins over the environment
    parse(cfg, {"--exapool.max-size=2"});
    CHECK(cfg.to_runtime_config().pool.max_size == 2);
  }
  setenv("EXAPOOL_POOL_SIZE", "lots", 1);
  {
    runtime_system_config cfg;
    parse(cfg, {});
    try {
      cfg.to_runtime_config();
      FAIL("a bad EXAPOOL_POOL_SIZE must be refused");
    } catch (const runtime_error& e) {
      CHECK(e.code() == pool_errc::invalid_config);
      CHECK(std::string(e.what()).find("EXAPOOL_POOL_SIZE") != std::string::npos);
    }
  }
  unsetenv("EXAPOOL_POOL_SIZE");
}

TEST_CASE("values no pool can run with are refused by name", "[runtime_options]") {
  bad_options cases = {
      {{"--exapool.max-size=5000"}, "max-size"},
      {{"--exapool.max-size=2", "--exapool.min-idle=3"}, "min-idle"},
      {{"--exapool.max-size=2", "--exapool.acquire-timeout=0s"}, "acquire-timeout"},
      {{"--exapool.max-size=2", "--exapool.backoff-initial=10s", "--exapool.backoff-max=1s"},
       "backoff-initial"},
  };
  check_refused_by_name(cases);
  runtime_system_config cfg;
  std::istringstream no_ini;
  CHECK(cfg.parse({"--exapool.max-size=many"}, no_ini)); // CAF names the bad value itself
}

TEST_CASE("supervisor limits come from the options, with their defaults", "[runtime_options]") {
  {
    runtime_system_config cfg;
    parse(cfg, {"--exapool.max-size=2"});
    auto limits = cfg.to_runtime_config().limits;
    CHECK(limits.max_pools == 100);
    CHECK(limits.pool_idle_timeout == caf::timespan{10min});
    CHECK(limits.max_restarts == 5);
    CHECK(limits.restart_period == caf::timespan{60s});
    CHECK(limits.restart_cooldown == caf::timespan{30s});
  }
  runtime_system_config cfg;
  parse(cfg, {"--exapool.max-size=2", "--exapool.max-pools=7", "--exapool.restart-period=2min"},
        "[exapool]\npool-idle-timeout=90s\nmax-restarts=3\nrestart-cooldown=5s\n");
  auto limits = cfg.to_runtime_config().limits;
  CHECK(limits.max_pools == 7);
  CHECK(limits.pool_idle_timeout == caf::timespan{90s});
  CHECK(limits.max_restarts == 3);
  CHECK(limits.restart_period == caf::timespan{2min});
  CHECK(limits.restart_cooldown == caf::timespan{5s});
}

TEST_CASE("supervisor limits no supervisor can run with are refused by name", "[runtime_options]") {
  bad_options cases = {
      {{"--exapool.max-pools=0"}, "max-pools"},
      {{"--exapool.restart-period=0s"}, "restart-period"},
      {{"--exapool.pool-idle-timeout=-1s"}, "pool-idle-timeout"},
      {{"--exapool.restart-cooldown=-1s"}, "restart-cooldown"},
  };
  for (auto& [args, option] : cases)
    args.push_back("--exapool.max-size=2");
  check_refused_by_name(cases);
}

TEST_CASE("the reset, close and abort deadlines and the waiter bound come from the options",
          "[runtime_options]") {
  {
    runtime_system_config cfg;
    parse(cfg, {"--exapool.max-size=2"});
    auto pool = cfg.to_runtime_config().pool;
    CHECK(pool.reset_timeout == caf::timespan{30s});
    CHECK(pool.close_timeout == caf::timespan{10s});
    CHECK(pool.abort_grace == caf::timespan{2s});
    CHECK(pool.max_waiters == 10000);
  }
  runtime_system_config cfg;
  parse(cfg, {"--exapool.max-size=2", "--exapool.reset-timeout=45s", "--exapool.max-waiters=64"},
        "[exapool]\nclose-timeout=3s\nabort-grace=500ms\n");
  auto pool = cfg.to_runtime_config().pool;
  CHECK(pool.reset_timeout == caf::timespan{45s});
  CHECK(pool.close_timeout == caf::timespan{3s});
  CHECK(pool.abort_grace == caf::timespan{500ms});
  CHECK(pool.max_waiters == 64);
  check_refused_by_name({
      {{"--exapool.max-size=2", "--exapool.reset-timeout=0s"}, "reset-timeout"},
      {{"--exapool.max-size=2", "--exapool.close-timeout=-1s"}, "close-timeout"},
      {{"--exapool.max-size=2", "--exapool.abort-grace=0s"}, "abort-grace"},
      {{"--exapool.max-size=2", "--exapool.max-waiters=0"}, "max-waiters"},
  });
}

TEST_CASE("the I/O threads come from exapool.io-threads, 1 by default", "[runtime_options]") {
  {
    runtime_system_config cfg;
    parse(cfg, {"--exapool.max-size=2"});
    CHECK(cfg.to_runtime_config().io_threads == 1);
    CHECK(runtime_config{}.io_threads == 1);
  }
  {
    runtime_system_config cfg;
    parse(cfg, {"--exapool.max-size=2", "--exapool.io-threads=3"});
    CHECK(cfg.to_runtime_config().io_threads == 3);
  }
  {
    runtime_system_config cfg;
    parse(cfg, {"--exapool.max-size=2"}, "[exapool]\nio-threads=2\n");
    CHECK(cfg.to_runtime_config().io_threads == 2);
  }
  check_refused_by_name(
      {{{"--exapool.max-size=2", "--exapool.io-threads=0"}, "exapool.io-threads"}});
  // Not a number: CAF's parser refuses it, naming the option.
  runtime_system_config cfg;
  std::istringstream no_ini;
  auto err = cfg.parse({"--exapool.io-threads=x"}, no_ini);
  REQUIRE(err);
  CHECK(to_string(err).find("exapool.io-threads") != std::string::npos);
}

TEST_CASE("a runtime refuses 0 I/O threads", "[runtime_options]") {
  runtime_config config;
  config.io_threads = 0;
  try {
    runtime rt{config};
    FAIL("a runtime with 0 I/O threads started");
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::invalid_config);
    CHECK(std::string(e.what()).find("io-threads") != std::string::npos);
  }
}

TEST_CASE("the log level and the leak threshold come from options", "[runtime_options][log]") {
  runtime_system_config defaults;
  parse(defaults, {});
  CHECK(defaults.to_runtime_config().log.level == log_level::info);
  CHECK(defaults.to_runtime_config().pool.leak_detection_threshold.count() == 0);
  runtime_system_config cfg;
  parse(cfg, {"--exapool.log-level=debug", "--exapool.leak-detection-threshold=2s"});
  auto config = cfg.to_runtime_config();
  CHECK(config.log.level == log_level::debug);
  CHECK(config.pool.leak_detection_threshold == 2s);
  check_refused_by_name(
      {{{"--exapool.log-level=loud"}, "exapool.log-level='loud' is not a level"},
       {{"--exapool.leak-detection-threshold=-1s"}, "exapool.leak-detection-threshold"}});
}
