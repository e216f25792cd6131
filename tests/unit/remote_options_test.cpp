// The options of remote sessions: exapool.remote-port/-host make a pool node, exapool.pool-node
// a service node; a bad address is an error naming the option (tests/remote/ runs them).
#include "actors/remote.hpp"
#include "actors/runtime_options.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

using namespace exapool;

namespace {

runtime_config parsed(std::vector<std::string> args) {
  runtime_system_config cfg;
  std::istringstream no_ini;
  auto err = cfg.parse(std::move(args), no_ini);
  REQUIRE_FALSE(err);
  return cfg.to_runtime_config();
}

std::string invalid_config_text(const std::function<void()>& call) {
  try {
    call();
  } catch (const runtime_error& e) {
    CHECK(e.code() == pool_errc::invalid_config);
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("remote-port and pool-node options reach the runtime config", "[remote][options]") {
  auto pool_node = parsed({"--exapool.remote-port=7434", "--exapool.remote-host=0.0.0.0"});
  REQUIRE(pool_node.remote_port.has_value());
  CHECK(*pool_node.remote_port == 7434);
  CHECK(pool_node.remote_host == "0.0.0.0");
  CHECK(pool_node.pool_node.empty());
  auto service = parsed({"--exapool.pool-node=10.0.0.5:7434"});
  CHECK_FALSE(service.remote_port.has_value());
  CHECK(service.pool_node == "10.0.0.5:7434");
}

TEST_CASE("host:port is split, and a bad one is named", "[remote][options]") {
  CHECK(split_host_port("10.0.0.5:7434", "exapool.pool-node") ==
        std::pair<std::string, std::uint16_t>{"10.0.0.5", 7434});
  CHECK(split_host_port("db.example:1", "x").second == 1);
  for (std::string bad : {"localhost", ":7434", "host:", "host:0", "host:65536", "host:12ab"}) {
    INFO(bad);
    auto text = invalid_config_text([&] { split_host_port(bad, "exapool.pool-node"); });
    CHECK(text.find("exapool.pool-node is '" + bad + "'") != std::string::npos);
  }
}

TEST_CASE("a runtime is not a pool node and a service node at once", "[remote][options]") {
  runtime_config config;
  config.pool_node = "127.0.0.1:7434";
  config.remote_port = 0;
  auto text = invalid_config_text([&] { runtime rt{config}; });
  CHECK(text.find("exapool.remote-port") != std::string::npos);
  config.remote_port.reset();
  config.make_backend = [](const credentials&) { return std::unique_ptr<connection_backend>{}; };
  text = invalid_config_text([&] { runtime rt{config}; });
  CHECK(text.find("make_backend") != std::string::npos);
}
