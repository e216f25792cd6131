// The admin endpoint over the network (actors/admin_actor.hpp, actors/admin_client.hpp): a
// runtime over the fake backend publishes it on a free loopback port, and a second actor system
// reads it with the client `exapool stats` uses. Also: the clear errors around it.
#include "actors/admin_client.hpp"
#include "messages/stats_json.hpp"
#include "runtime_fake_support.hpp"

#include <caf/io/middleman.hpp>

#include <algorithm>

using namespace exapool;
using namespace exapool::test;

namespace {

// The other process's side: an actor system of its own with the io middleman.
struct client_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  client_system() {
    cfg.set("scheduler.max-threads", 2);
    cfg.load<caf::io::middleman>();
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

runtime_config with_admin(runtime_config config) {
  config.admin_port = 0; // a free port: tests never collide
  return config;
}

std::string error_text_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const runtime_error& e) {
    return e.what();
  }
  return "no error";
}

const pool_stats& pool_labelled(const std::vector<pool_stats>& pools, const std::string& label) {
  auto i = std::find_if(pools.begin(), pools.end(),
                        [&](const pool_stats& s) { return s.label == label; });
  if (i == pools.end())
    FAIL("no pool labelled " << label);
  return *i;
}

} // namespace

TEST_CASE("admin endpoint serves every pool's counters to the stats client", "[stats][admin]") {
  auto plan = std::make_shared<fake_plan>();
  runtime rt{with_admin(fake_runtime_config(plan))};
  REQUIRE(rt.admin_port() != 0);
  auto alice = fake_credentials("alice-secret-pw");
  alice.user = "alice";
  auto bob = fake_credentials("bob-secret-pw");
  bob.user = "bob";
  bob.schema = "STAGE";
  bob.access_token.value = "bob-secret-token";
  for (int i = 0; i < 3; ++i)
    rt.query(alice, "state");
  for (int i = 0; i < 2; ++i)
    rt.execute(bob, "anything");

  client_system client;
  auto json = fetch_stats_json(*client.sys, "127.0.0.1", rt.admin_port(), 10s);
  CHECK(json.find("secret") == std::string::npos);
  auto pools = stats_from_json(json);
  REQUIRE(pools.size() == 2);
  const auto& a = pool_labelled(pools, "alice@fake:8563");
  const auto& b = pool_labelled(pools, "bob@fake:8563/STAGE");
  CHECK(a.key == make_pool_key(alice));
  CHECK(a.borrowed == 3);
  CHECK(a.returned == 3);
  CHECK(a.opened == 1); // one after another: the same connection each time
  CHECK(a.leased == 0);
  CHECK(a.max_size == 5);
  CHECK(b.borrowed == 2);
  CHECK(b.last_connect_error.empty());
  // The same counters the runtime reports in process (nothing ran in between), wait times
  // to the whole microseconds JSON carries.
  auto local = rt.stats(alice);
  for (auto* wait : {&local.wait_p50, &local.wait_p99, &local.wait_max})
    *wait = std::chrono::duration_cast<std::chrono::microseconds>(*wait);
  CHECK(local.label == "alice@fake:8563");
  CHECK(caf::deep_to_string(local) == caf::deep_to_string(a));
  // fetch_stats reads the same answer.
  CHECK(fetch_stats(*client.sys, "127.0.0.1", rt.admin_port(), 10s).size() == 2);
}

TEST_CASE("admin endpoint answers an empty list before any pool exists", "[stats][admin]") {
  runtime rt{with_admin(fake_runtime_config(std::make_shared<fake_plan>()))};
  client_system client;
  CHECK(fetch_stats(*client.sys, "127.0.0.1", rt.admin_port(), 10s).empty());
}

TEST_CASE("runtime without admin port opens none", "[stats][admin]") {
  runtime rt{fake_runtime_config(std::make_shared<fake_plan>())};
  CHECK(rt.admin_port() == 0);
}

TEST_CASE("admin port needs the middleman in an attached system", "[stats][admin][errors]") {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  runtime::configure(cfg);
  caf::actor_system sys{cfg};
  auto config = with_admin(fake_runtime_config(std::make_shared<fake_plan>()));
  auto text = error_text_of([&] { runtime rt{sys, config}; });
  CHECK(text.find("invalid_config") != std::string::npos);
  CHECK(text.find("cfg.load<caf::io::middleman>()") != std::string::npos);
}

TEST_CASE("admin port taken is a clear error and no hang", "[stats][admin][errors]") {
  runtime first{with_admin(fake_runtime_config(std::make_shared<fake_plan>()))};
  auto config = fake_runtime_config(std::make_shared<fake_plan>());
  config.admin_port = first.admin_port();
  auto text = error_text_of([&] { runtime second{config}; });
  CHECK(text.find("cannot listen on 127.0.0.1:" + std::to_string(first.admin_port())) !=
        std::string::npos);
}

TEST_CASE("admin port closes with a runtime on an attached system", "[stats][admin]") {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  cfg.load<caf::io::middleman>();
  runtime::configure(cfg);
  caf::actor_system sys{cfg};
  client_system client;
  std::uint16_t port = 0;
  {
    runtime rt{sys, with_admin(fake_runtime_config(std::make_shared<fake_plan>()))};
    port = rt.admin_port();
    CHECK(fetch_stats(*client.sys, "127.0.0.1", port, 10s).empty());
  }
  client_system fresh; // a new node: no cached connection to the old endpoint
  auto text = error_text_of([&] { fetch_stats(*fresh.sys, "127.0.0.1", port, 10s); });
  CHECK(text.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(text.find("nothing listens there") != std::string::npos);
}

TEST_CASE("stats client refuses an actor that is not an admin endpoint", "[stats][admin][errors]") {
  client_system server;
  auto other = server.sys->spawn(
      []() -> caf::behavior { return {[](caf::get_atom, stats_atom) { return 42; }}; });
  auto port = server.sys->middleman().publish(other, 0, "127.0.0.1");
  REQUIRE(port);
  client_system client;
  auto text = error_text_of([&] { fetch_stats(*client.sys, "127.0.0.1", *port, 10s); });
  CHECK(text.find("not an exapool admin endpoint") != std::string::npos);
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
}
