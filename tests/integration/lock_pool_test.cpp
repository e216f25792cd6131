// B1's lock-based peer pool (bench/peers/lock_pool.*) over the real client against exasim
// started in-process: the tuned policy never holds more than max_size server sessions however
// many threads borrow, the seed policy validates on every reuse and the tuned one only after
// the bypass window, and a connection the server dropped is replaced.
#include "bench/peers/lock_pool.hpp"
#include "integration/exasim/server.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using exapool::bench::lock_pool;
using exapool::bench::lock_pool_config;
using exapool::bench::lock_pool_policy;
using namespace std::chrono_literals;

namespace {

struct sim_fixture {
  exasim::server sim{options()};

  static exasim::server_options options() {
    exasim::server_options o;
    o.fresh_rsa_key_per_session = false; // logins by the dozen; key generation is not tested
    return o;
  }

  sim_fixture() { sim.start(); }

  exasol::connection_options client() const {
    exasol::connection_options o;
    o.dsn = "127.0.0.1:" + std::to_string(sim.port());
    o.tls = false;
    o.user = "sys";
    o.password = "exasol";
    o.connect_timeout = 20s;
    return o;
  }
};

lock_pool_config config(lock_pool_policy policy, std::size_t max_size,
                        std::chrono::milliseconds bypass = std::chrono::hours(1)) {
  lock_pool_config c;
  c.policy = policy;
  c.max_size = max_size;
  c.validation_bypass = bypass;
  c.acquire_timeout = 60s; // a hang guard only
  return c;
}

std::int64_t select_one(exasol::connection& conn) {
  return std::get<std::int64_t>(conn.query("SELECT 1").at(0, 0));
}

} // namespace

TEST_CASE_METHOD(sim_fixture, "lock pool tuned never holds more than max_size sessions",
                 "[lock_pool]") {
  lock_pool pool(client(), config(lock_pool_policy::tuned, 3));
  std::atomic<int> wrong{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 30; ++i) {
        try {
          auto lease = pool.acquire();
          if (select_one(*lease) != 1)
            ++wrong;
        } catch (const std::exception&) {
          ++failed;
        }
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(failed == 0);
  CHECK(wrong == 0);
  CHECK(pool.peak_total() <= 3);
  CHECK(pool.counters().opened <= 3);
  CHECK(pool.counters().acquired == 12 * 30);
  CHECK(sim.stats().sessions_opened <= 3); // what the server saw, not only the pool's count
  CHECK(pool.idle_count() == pool.total_count());
  pool.close_idle();
  CHECK(pool.total_count() == 0);
}

TEST_CASE_METHOD(sim_fixture, "lock pool seed validates on every reuse", "[lock_pool]") {
  lock_pool pool(client(), config(lock_pool_policy::seed, 2));
  REQUIRE(pool.prewarm(2) == 2);
  for (int i = 0; i < 5; ++i) {
    auto lease = pool.acquire();
    CHECK(select_one(*lease) == 1);
  }
  CHECK(pool.counters().validations == 5);
  CHECK(pool.counters().opened == 2);
  CHECK(sim.stats().sessions_opened == 2);
}

TEST_CASE_METHOD(sim_fixture, "lock pool seed opens beyond its size and caps only the idle list",
                 "[lock_pool]") {
  lock_pool pool(client(), config(lock_pool_policy::seed, 2));
  {
    std::vector<lock_pool::lease> held;
    for (int i = 0; i < 4; ++i)
      held.push_back(pool.acquire()); // the seed bounded no checked-out connections
    CHECK(pool.counters().opened == 4);
  }
  CHECK(pool.idle_count() == 2); // two went back into the list, two were closed
  CHECK(pool.counters().closed == 2);
}

TEST_CASE_METHOD(sim_fixture, "lock pool tuned validates only after the bypass window",
                 "[lock_pool]") {
  lock_pool pool(client(), config(lock_pool_policy::tuned, 2, 50ms));
  REQUIRE(pool.prewarm(1) == 1);
  std::this_thread::sleep_for(60ms); // idle past the window: checked once
  { auto lease = pool.acquire(); }
  CHECK(pool.counters().validations == 1);

  lock_pool quick(client(), config(lock_pool_policy::tuned, 2, std::chrono::hours(1)));
  for (int i = 0; i < 5; ++i) {
    auto lease = quick.acquire();
    CHECK(select_one(*lease) == 1);
  }
  CHECK(quick.counters().validations == 0); // each reuse within the window: no SELECT 1
  CHECK(quick.counters().opened == 1);
}

TEST_CASE_METHOD(sim_fixture, "lock pool replaces a connection the server dropped", "[lock_pool]") {
  auto policy = GENERATE(lock_pool_policy::seed, lock_pool_policy::tuned);
  CAPTURE(exapool::bench::to_string(policy));
  lock_pool pool(client(), config(policy, 1, 0ms)); // tuned checks every idle one, as seed does
  std::uint64_t first = 0;
  {
    auto lease = pool.acquire();
    first = lease->session().session_id;
  }
  REQUIRE(sim.drop_session(first));
  auto lease = pool.acquire();
  CHECK(lease->session().session_id != first);
  CHECK(select_one(*lease) == 1);
  CHECK(pool.counters().invalid == 1);
  CHECK(pool.counters().opened == 2);
}

TEST_CASE_METHOD(sim_fixture, "lock pool drops a connection that broke while leased",
                 "[lock_pool]") {
  lock_pool pool(client(), config(lock_pool_policy::tuned, 1));
  {
    auto lease = pool.acquire();
    REQUIRE(sim.drop_session(lease->session().session_id));
    CHECK_THROWS(lease->execute("SELECT 1"));
  }
  CHECK(pool.total_count() == 0); // its slot was freed, not kept for a dead session
  auto lease = pool.acquire();
  CHECK(select_one(*lease) == 1);
  CHECK(pool.counters().opened == 2);
}

TEST_CASE_METHOD(sim_fixture, "lock pool tuned acquire times out naming its counts",
                 "[lock_pool]") {
  auto c = config(lock_pool_policy::tuned, 1);
  c.acquire_timeout = 20ms;
  lock_pool pool(client(), c);
  auto held = pool.acquire();
  CHECK_THROWS_WITH(pool.acquire(), Catch::Contains("total=1") && Catch::Contains("max_size=1"));
  held.release();
  CHECK(select_one(*pool.acquire()) == 1);
}
