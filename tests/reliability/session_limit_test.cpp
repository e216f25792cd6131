// A server whose session limit is below the pool's size: the pool serves with the sessions the
// server allows, and a refused login is not mistaken for a wrong password.
// Before issue 8's pool shell (a7dcd7a) it failed as the issue describes: 376 statements
// answered and 38,452 failed with authentication_failed in 3 s.
#include "tests/reliability/reliability_support.hpp"

#include <atomic>
#include <thread>

using namespace exapool;
using namespace exapool::reliability;

TEST_CASE("session limit below the pool size: the pool keeps serving with what it has",
          "[reliability]") {
  constexpr std::size_t server_limit = 4, pool_size = 8;
  exasim::server db{sim_options()};
  db.start();
  db.set_max_sessions(server_limit);
  auto creds = sim_credentials(db);
  runtime rt{fault_config(pool_size)};

  std::atomic<bool> running{true};
  std::uint64_t most_live = 0;
  std::thread sampler([&] {
    while (running) {
      most_live = std::max(most_live, db.stats().active_sessions);
      std::this_thread::sleep_for(5ms);
    }
  });
  constexpr auto length = 3s;
  auto seen = run_load(rt, creds, 32, "SELECT 1", length, hang_guard);
  running = false;
  sampler.join();
  auto stats = rt.stats(creds);
  seen.print("session limit", std::chrono::duration<double>(length).count());
  std::cout << "session limit: at most " << most_live << " live sessions, " << stats.opened
            << " opened, " << stats.connect_failures << " refused logins, "
            << db.stats().failed_logins << " logins refused by the server" << std::endl;

  CHECK(most_live <= server_limit);
  CHECK(seen.answered > 0);
  // Every statement is served by the sessions that exist: none fails for the refused logins.
  CHECK(seen.failed() == 0);
  CHECK(db.stats().protocol_violations == 0);
  // The refusals are counted, and named for what they are.
  CHECK(stats.connect_failures >= 1);
  CHECK(stats.last_connect_error.find("session limit") != std::string::npos);
  rt.shutdown();
  CHECK(server_drained(db));
}
