// Shared by the supervisor and session unit tests: a runtime over the fake backend on a
// 2-thread scheduler, and blocking requests that fail the test on any unexpected outcome.
// Timeouts here are hang guards, never timed assertions.
#pragma once

#include "actors/fake_backend.hpp"
#include "actors/runtime.hpp"
#include "messages/errors.hpp"
#include "tests/support/actor_requests.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace exapool::test {

using namespace exapool::testing;

using namespace std::chrono_literals;

inline runtime_config fake_runtime_config(std::shared_ptr<fake_plan> plan) {
  runtime_config config;
  config.scheduler_threads = 2;
  config.pool.max_size = 5;
  config.pool.acquire_timeout = 10s;
  config.pool.shutdown_grace = 10s;
  auto factory = make_fake_factory(std::move(plan));
  config.make_backend = [factory](const credentials&) { return factory(); };
  return config;
}

inline credentials fake_credentials(const std::string& password = "pw") {
  credentials c;
  c.dsn = "fake:8563";
  c.user = "sys";
  c.password.value = password;
  return c;
}

// The connection number of the fake connection a "state" statement ran on.
inline std::int64_t connection_number(const exasol::result_set& rows) {
  return std::get<std::int64_t>(rows.at(0, 0));
}

inline std::int64_t dirty_flag(const exasol::result_set& rows) {
  return std::get<std::int64_t>(rows.at(0, 1));
}

} // namespace exapool::test
