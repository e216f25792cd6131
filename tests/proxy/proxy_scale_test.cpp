// Many clients, few connections: 1,000 clients connected to the proxy at once, each running
// 100 statements in turn (20 in a sanitizer build, where it would take minutes), on a pool of 5.
// Checked from exasim's side: never more than 5 server sessions, and no protocol violation.
#include "apps/exapool/options.hpp"
#include "tests/proxy/proxy_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

using namespace exapool;
using namespace exapool::ptest;

namespace {

#ifdef EXAPOOL_SANITIZED
constexpr std::size_t statements_per_client = 20;
#else
constexpr std::size_t statements_per_client = 100;
#endif

} // namespace

TEST_CASE("1,000 clients share a pool of 5 through the proxy") {
  constexpr std::size_t threads = 50, clients_per_thread = 20;
  constexpr std::size_t statements = statements_per_client;
  constexpr std::size_t clients = threads * clients_per_thread;
  // Two sockets per client in this one process (the client's and the proxy's).
  REQUIRE(cli::raise_open_files_limit(3 * clients) >= 3 * clients);
  proxy_fixture f({proxy_mode::transaction, 5});
  std::atomic<std::size_t> answered{0}, wrong{0}, failed{0}, connected{0};
  std::atomic<std::size_t> most_sessions{0};
  std::atomic<bool> done{false};
  std::thread sampler([&] { // exasim's live sessions, all along
    while (!done) {
      auto n = f.sim().session_ids().size();
      auto seen = most_sessions.load();
      while (n > seen && !most_sessions.compare_exchange_weak(seen, n)) {
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  std::atomic<std::size_t> ready{0};
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::vector<std::unique_ptr<exasol::connection>> mine;
      try {
        for (std::size_t c = 0; c < clients_per_thread; ++c) {
          mine.push_back(f.connect());
          ++connected;
        }
      } catch (const std::exception&) {
        ++failed;
      }
      ++ready; // every client connected before the first statement: 1,000 at once
      while (ready < threads)
        std::this_thread::sleep_for(1ms);
      for (std::size_t i = 0; i < statements; ++i)
        for (std::size_t c = 0; c < mine.size(); ++c) {
          auto expected = static_cast<std::int64_t>(t * 100000 + c * 100 + i);
          try {
            if (first_int(mine[c]->query("SELECT " + std::to_string(expected))) == expected)
              ++answered;
            else
              ++wrong;
          } catch (const std::exception&) {
            ++failed;
          }
        }
      for (auto& c : mine)
        c->disconnect();
    });
  while (ready < threads)
    std::this_thread::sleep_for(1ms);
  auto clients_seen = f.front().sessions();
  // Every login told the pool it has a client; the pool may read those messages a little later
  // than the logins ended (a hang guard, not a timing assertion).
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (f.pools().stats().at(0).clients < clients && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  auto pool_clients = f.pools().stats().at(0).clients;
  for (auto& w : workers)
    w.join();
  done = true;
  sampler.join();
  CHECK(connected == clients);
  CHECK(clients_seen == clients);
  CHECK(pool_clients == clients);
  CHECK(answered == clients * statements);
  CHECK(wrong == 0);
  CHECK(failed == 0);
  CHECK(most_sessions <= 5);
  CHECK(f.sim().stats().sessions_opened <= 5);
  CHECK(f.sim().stats().protocol_violations == 0);
}
