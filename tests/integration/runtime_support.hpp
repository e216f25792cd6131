// Shared by the runtime integration tests: exasim in-process, credentials for it, a runtime on
// a 2-thread scheduler, and blocking requests that fail the test on an unexpected outcome.
// Timeouts are hang guards, never timed assertions.
#pragma once

#include "actors/runtime.hpp"
#include "integration/exasim/server.hpp"
#include "messages/errors.hpp"
#include "tests/support/actor_requests.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>

namespace exapool::itest {

using namespace exapool::testing;

using namespace std::chrono_literals;

inline exasim::server_options sim_options() {
  exasim::server_options o;
  o.fresh_rsa_key_per_session = false; // logins by the dozen: one key for all
  return o;
}

// A started exasim.
struct sim {
  exasim::server server{sim_options()};
  sim() { server.start(); }
  exasim::counters stats() const { return server.stats(); }
};

inline credentials sim_credentials(const exasim::server& s, bool tls = false) {
  credentials c;
  c.dsn = tls ? s.dsn() : "127.0.0.1:" + std::to_string(s.port());
  c.tls = tls;
  c.user = "sys";
  c.password.value = "exasol";
  c.connect_timeout = 20s;
  c.socket_timeout = 30s;
  c.client_name = "exapool-runtime-test";
  return c;
}

inline runtime_config sim_runtime_config() {
  runtime_config config;
  config.scheduler_threads = 2;
  config.pool.max_size = 5;
  config.pool.acquire_timeout = 20s;
  config.pool.shutdown_grace = 5s;
  return config;
}

inline std::int64_t first_int(const exasol::result_set& rows) {
  const auto& v = rows.at(0, 0);
  if (auto i = std::get_if<std::int64_t>(&v))
    return *i;
  return std::stoll(std::get<exasol::decimal>(v).text);
}

// The id of the one server session exasim has (the tests that use it keep exactly one).
inline std::uint64_t only_session(const exasim::server& s) {
  auto ids = s.session_ids();
  REQUIRE(ids.size() == 1);
  return ids.front();
}

// The threads of this process (entries of /proc/self/task).
inline std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task"))
    ++n;
  return n;
}

} // namespace exapool::itest
