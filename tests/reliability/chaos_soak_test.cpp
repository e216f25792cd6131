// The chaos soak: 64 sessions run statements through a pool of 8 while exasim kills a random
// session every 100 ms (dropped at TCP level, as KILL SESSION does) and injects latency spikes.
// Asserted from the server's side where it can be: never more than 8 live sessions, no
// protocol violation (no connection served two borrowers at once), each kill costs at most the
// one statement that used the dead session, every statement answered within its limit with a
// result or a named error, the pool back at size after the chaos, nothing left after shutdown.
// EXAPOOL_CHAOS_SECONDS sets the length (default 5 s).
#include "tests/reliability/reliability_support.hpp"

#include <atomic>
#include <cstdlib>
#include <random>
#include <set>

using namespace exapool;
using namespace exapool::reliability;

namespace {

constexpr std::size_t pool_size = 8;
constexpr int sessions = 64;

steady::duration chaos_length() {
  if (const char* text = std::getenv("EXAPOOL_CHAOS_SECONDS"))
    return std::chrono::seconds(std::max(1, std::atoi(text)));
  return 5s;
}

// What the chaos thread did and saw.
struct chaos_report {
  std::int64_t kills = 0;
  std::int64_t spikes = 0;
  std::uint64_t most_live_sessions = 0;
};

// Kills a random live session every 100 ms and, every 500 ms, slows every statement by 150 ms
// for 100 ms; samples the server's live session count as it goes.
chaos_report make_chaos(exasim::server& db, steady::duration length, std::uint64_t seed) {
  chaos_report report;
  std::mt19937_64 random{seed};
  auto end = steady::now() + length;
  for (int tick = 0; steady::now() < end; ++tick) {
    report.most_live_sessions = std::max(report.most_live_sessions, db.stats().active_sessions);
    auto ids = db.session_ids();
    if (!ids.empty() &&
        db.drop_session(ids[std::uniform_int_distribution<std::size_t>(0, ids.size() - 1)(random)]))
      ++report.kills;
    if (tick % 5 == 0) {
      db.set_query_latency(150ms);
      ++report.spikes;
      std::this_thread::sleep_for(100ms);
      db.set_query_latency(0ms);
    } else {
      std::this_thread::sleep_for(100ms);
    }
  }
  return report;
}

} // namespace

TEST_CASE("chaos soak: killed sessions and latency spikes under 64 sessions", "[reliability]") {
  exasim::server db{sim_options()};
  db.start();
  auto creds = sim_credentials(db);
  creds.query_timeout = 2s;
  auto config = fault_config(pool_size);
  config.pool.min_idle = pool_size;       // the pool refills by itself after the chaos
  config.pool.keepalive_interval = 100ms; // and finds dead idle sessions soon
  config.pool.validation_bypass = 50ms;   // a connection idle a moment is checked first
  runtime rt{config};
  rt.prewarm(creds, pool_size);

  auto seed = std::random_device{}();
  INFO("chaos seed " << seed);
  auto length = chaos_length();
  chaos_report chaos;
  std::thread chaos_thread([&] { chaos = make_chaos(db, length, seed); });
  auto started = steady::now();
  // Each statement's limit: the wait for a connection, the query timeout, the abort's grace and
  // the runtime's slack. A statement still unanswered then has hung.
  auto limit = config.pool.acquire_timeout + creds.query_timeout + 2s + config.slack;
  auto seen = run_load(rt, creds, sessions, "SELECT 1", length, hang_guard);
  chaos_thread.join();
  auto chaos_over = steady::now();
  seen.print("chaos soak", std::chrono::duration<double>(chaos_over - started).count());
  std::cout << "chaos: " << chaos.kills << " sessions killed, " << chaos.spikes
            << " latency spikes, at most " << chaos.most_live_sessions << " live sessions"
            << std::endl;

  CHECK(chaos.kills > 0);
  CHECK(seen.answered > 0);
  CHECK(chaos.most_live_sessions <= pool_size);
  CHECK(db.stats().protocol_violations == 0);
  CHECK(seen.longest_ns < std::chrono::duration_cast<std::chrono::nanoseconds>(limit).count());
  // A kill costs at most the statement that found the session dead (no retry storm, no
  // cascade); every failure is a named pool error with a text.
  CHECK(seen.failed() <= chaos.kills);
  CHECK(seen.empty_texts == 0);
  for (auto& [code, count] : seen.failed_by_code) {
    INFO("failure code " << code);
    CHECK((code == "connection_lost" || code == "statement_aborted"));
  }

  // Back at size: the server has pool_size live sessions again, all the pool's, none leased.
  auto back = time_until([&] {
    auto s = rt.stats(creds);
    return db.stats().active_sessions == pool_size && s.total == pool_size && s.leased == 0 &&
           s.opening == 0;
  });
  REQUIRE(back.has_value());
  std::cout << "chaos soak: back at " << pool_size << " live sessions " << ms_of(*back)
            << " ms after the chaos" << std::endl;
  CHECK(rt.query(creds, "SELECT 1").row_count() == 1);

  rt.shutdown();
  CHECK(server_drained(db));
  CHECK(db.stats().protocol_violations == 0);
}
