// Helpers for the pool's unit tests: an actor system as the project runs it, and blocking calls
// to a pool from a scoped_actor. Every request has a timeout that only guards against hangs.
#pragma once

#include "actors/connection_actor.hpp"
#include "actors/fake_backend.hpp"
#include "actors/pool_actor.hpp"
#include "messages/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pool_test {

using namespace std::chrono_literals;
using namespace exapool;

constexpr auto hang_guard = std::chrono::seconds(20);

struct test_config : caf::actor_system_config {
  test_config() { set("scheduler.max-threads", 2); }
};

// A lease or the error the pool answered with.
struct borrow_outcome {
  std::optional<lease> granted;
  caf::error error;
};

// context_of with a guard: CAF 0.17's error::context() dereferences null on an empty error.
inline std::string text_of(const caf::error& e) {
  return e ? context_of(e) + " (" + caf::to_string(e) + ")" : std::string("no error");
}

inline pool_errc code(const caf::error& e) {
  return e ? code_of(e) : pool_errc::none;
}

inline borrow_outcome borrow(caf::scoped_actor& self, const pool_actor& pool) {
  borrow_outcome out;
  self->request(pool, hang_guard, borrow_atom::value)
      .receive([&](lease& l) { out.granted = std::move(l); },
               [&](caf::error& e) { out.error = std::move(e); });
  return out;
}

inline lease must_borrow(caf::scoped_actor& self, const pool_actor& pool) {
  auto out = borrow(self, pool);
  INFO("borrow failed: " << text_of(out.error));
  REQUIRE(out.granted);
  return *out.granted;
}

inline void give_back(caf::scoped_actor& self, const pool_actor& pool, const lease& l) {
  self->send(pool, give_back_atom::value, l.id);
}

inline pool_stats stats(caf::scoped_actor& self, const pool_actor& pool);

// give_back, then a round trip to the pool: once it answers, it has ended the lease and told
// the connection (end_lease), so the old lease id is refused from here on.
inline void give_back_synced(caf::scoped_actor& self, const pool_actor& pool, const lease& l) {
  give_back(self, pool, l);
  stats(self, pool);
}

inline pool_stats stats(caf::scoped_actor& self, const pool_actor& pool) {
  pool_stats out;
  self->request(pool, hang_guard, stats_atom::value)
      .receive([&](pool_stats& s) { out = std::move(s); },
               [&](caf::error& e) { FAIL("stats failed: " << to_string(e)); });
  return out;
}

inline pool_stats shutdown(caf::scoped_actor& self, const pool_actor& pool) {
  pool_stats out;
  self->request(pool, hang_guard, shutdown_atom::value)
      .receive([&](pool_stats& s) { out = std::move(s); },
               [&](caf::error& e) { FAIL("shutdown failed: " << to_string(e)); });
  return out;
}

// The result of SQL on a leased connection, or the error.
struct exec_outcome {
  std::optional<query_result> result;
  caf::error error;
};

inline exec_outcome execute(caf::scoped_actor& self, const lease& l, const std::string& sql) {
  exec_outcome out;
  self->request(l.connection, hang_guard, execute_atom::value, l.id, sql)
      .receive([&](query_result& r) { out.result = std::move(r); },
               [&](caf::error& e) { out.error = std::move(e); });
  return out;
}

// SQL under a lease that ends with it (execute-and-release): the connection tells the pool
// before this reply.
inline exec_outcome execute_release(caf::scoped_actor& self, const lease& l,
                                    const std::string& sql) {
  exec_outcome out;
  self->request(l.connection, hang_guard, execute_atom::value, l.id, sql, release_atom::value)
      .receive([&](query_result& r) { out.result = std::move(r); },
               [&](caf::error& e) { out.error = std::move(e); });
  return out;
}

// The fake's "state" row: connection number, dirty, executes, resets.
struct fake_state {
  std::int64_t connection = 0, dirty = 0, executes = 0, resets = 0;
};

inline fake_state state_of(caf::scoped_actor& self, const lease& l) {
  auto out = execute(self, l, "state");
  INFO("state failed: " << text_of(out.error));
  REQUIRE(out.result);
  const auto& rows = out.result->results.at(0).rows;
  auto at = [&](std::size_t c) { return std::get<std::int64_t>(rows.at(0, c)); };
  return fake_state{at(0), at(1), at(2), at(3)};
}

// Polls the pool until `done(stats)` holds; fails after the hang guard.
template <class Predicate>
pool_stats wait_for(caf::scoped_actor& self, const pool_actor& pool, Predicate done) {
  auto deadline = std::chrono::steady_clock::now() + hang_guard;
  for (;;) {
    auto s = stats(self, pool);
    if (done(s))
      return s;
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL("condition not reached; total=" << s.total << " leased=" << s.leased
                                           << " idle=" << s.idle << " opening=" << s.opening
                                           << " waiting=" << s.waiting);
      return s;
    }
    std::this_thread::sleep_for(2ms);
  }
}

inline pool_key test_key() {
  return pool_key{std::string(64, 'a')};
}

inline void check_invariant(const pool_stats& s) {
  REQUIRE(s.total <= s.max_size);
  REQUIRE(s.total == s.leased + s.idle + s.opening);
}

// An actor system as the project runs it, a fake backend plan, and the pools a test started.
struct fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<fake_plan> plan = std::make_shared<fake_plan>();
  caf::scoped_actor self{sys};

  std::vector<pool_actor> pools;
  pool_log log; // where the pools started from now on log (nowhere by default)

  pool_actor start(pool_config config) {
    pools.push_back(spawn_pool(sys, test_key(), config, make_fake_factory(plan), log));
    return pools.back();
  }

  // A failed test leaves pools running; ~actor_system would wait for them for ever.
  ~fixture() {
    for (auto& p : pools)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  }
};

} // namespace pool_test
