// The admin endpoint's options (actors/runtime_options.hpp): exapool.admin-port and
// exapool.admin-host from the command line or the [exapool] group, off by default, and an
// endpoint a runtime made from them actually serves.
#include "actors/admin_client.hpp"
#include "actors/runtime_options.hpp"
#include "runtime_fake_support.hpp"

#include <caf/io/middleman.hpp>

#include <sstream>

using namespace exapool;
using namespace exapool::test;

namespace {

runtime_config parsed(std::vector<std::string> args, std::string ini = "") {
  runtime_system_config cfg;
  std::istringstream ini_stream{ini};
  REQUIRE_FALSE(cfg.parse(std::move(args), ini_stream));
  return cfg.to_runtime_config();
}

} // namespace

TEST_CASE("admin endpoint is off unless exapool.admin-port is set", "[stats][runtime_options]") {
  CHECK_FALSE(parsed({"--exapool.max-size=2"}).admin_port.has_value());
  CHECK_FALSE(parsed({"--exapool.max-size=2", "--exapool.admin-port=0"}).admin_port.has_value());
}

TEST_CASE("admin port and host come from options or the ini file", "[stats][runtime_options]") {
  auto config = parsed({"--exapool.max-size=2", "--exapool.admin-port=7433"});
  REQUIRE(config.admin_port.has_value());
  CHECK(*config.admin_port == 7433);
  CHECK(config.admin_host == "127.0.0.1");
  config = parsed({}, "[exapool]\nmax-size=2\nadmin-port=7434\nadmin-host=\"0.0.0.0\"\n");
  CHECK(config.admin_port == std::optional<std::uint16_t>{7434});
  CHECK(config.admin_host == "0.0.0.0");
}

TEST_CASE("an empty admin host is refused by name", "[stats][runtime_options][errors]") {
  runtime_system_config cfg;
  std::istringstream ini{"[exapool]\nmax-size=2\nadmin-host=\"\"\n"};
  REQUIRE_FALSE(cfg.parse({}, ini));
  try {
    cfg.to_runtime_config();
    FAIL("no exception");
  } catch (const runtime_error& e) {
    CHECK(std::string(e.what()).find("exapool.admin-host") != std::string::npos);
  }
}

TEST_CASE("a system made from the options serves the admin endpoint", "[stats][runtime_options]") {
  runtime_system_config cfg;
  std::istringstream no_ini;
  // Port 0 on the command line means "off", so the test asks for a free port in the config.
  REQUIRE_FALSE(cfg.parse({"--exapool.max-size=2", "--exapool.admin-port=1"}, no_ini));
  cfg.set("scheduler.max-threads", 2);
  cfg.load_admin_middleman();
  auto config = cfg.to_runtime_config();
  config.admin_port = 0;
  config.make_backend = fake_runtime_config(std::make_shared<fake_plan>()).make_backend;
  caf::actor_system sys{cfg};
  runtime rt{sys, config};
  rt.query(fake_credentials(), "state");
  caf::actor_system_config client_cfg;
  client_cfg.set("scheduler.max-threads", 2);
  client_cfg.load<caf::io::middleman>();
  caf::actor_system client{client_cfg};
  auto pools = fetch_stats(client, "127.0.0.1", rt.admin_port(), 10s);
  REQUIRE(pools.size() == 1);
  CHECK(pools[0].borrowed == 1);
  CHECK(pools[0].max_size == 2);
}

TEST_CASE("metrics endpoint options: off by default, port and host, a bad host named",
          "[metrics][runtime_options]") {
  CHECK_FALSE(parsed({"--exapool.max-size=2"}).metrics_port.has_value());
  auto config = parsed({"--exapool.max-size=2", "--exapool.metrics-port=9100"});
  CHECK(config.metrics_port == std::optional<std::uint16_t>{9100});
  CHECK(config.metrics_host == "127.0.0.1");
  config = parsed({}, "[exapool]\nmax-size=2\nmetrics-port=9101\nmetrics-host=\"::1\"\n");
  CHECK(config.metrics_port == std::optional<std::uint16_t>{9101});
  CHECK(config.metrics_host == "::1");
  runtime_system_config cfg;
  std::istringstream ini{"[exapool]\nmax-size=2\nmetrics-port=9100\nmetrics-host=\"localhost\"\n"};
  REQUIRE_FALSE(cfg.parse({}, ini));
  try {
    cfg.to_runtime_config();
    FAIL("no exception");
  } catch (const runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("exapool.metrics-host='localhost'"));
  }
}
