// The reliability suite's shared parts: exasim in-process with its fault knobs, a runtime
// sized for the faults, load drivers (session actors running statements until a deadline)
// that record every outcome, and the server-side checks every test ends with. Each test
// prints its figures; timings are printed and bounded only by hang guards.
#pragma once

#include "actors/runtime.hpp"
#include "integration/exasim/server.hpp"
#include "messages/errors.hpp"

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace exapool::reliability {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Only guards against hangs; never what a test asserts.
inline constexpr auto hang_guard = std::chrono::seconds(60);

inline exasim::server_options sim_options() {
  exasim::server_options o;
  o.fresh_rsa_key_per_session = false; // logins by the dozen: one key for all
  return o;
}

inline credentials sim_credentials(const exasim::server& s) {
  credentials c;
  c.dsn = "127.0.0.1:" + std::to_string(s.port());
  c.tls = false;
  c.user = "sys";
  c.password.value = "exasol";
  c.connect_timeout = 2s;
  c.socket_timeout = 5s;
  c.client_name = "exapool-reliability";
  return c;
}

inline runtime_config fault_config(std::size_t size) {
  runtime_config config;
  config.pool.max_size = size;
  config.pool.acquire_timeout = 5s;
  config.pool.validation_timeout = 2s;
  config.pool.backoff_initial = 10ms;
  config.pool.backoff_max = 500ms;
  config.pool.shutdown_grace = 2s;
  config.slack = 5s;
  return config;
}

inline double ms_of(steady::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Polls `done` every 2 ms until it holds or `limit` passes; returns how long it took, or
// nothing when it never held.
template <class Done>
std::optional<steady::duration> time_until(Done done, steady::duration limit = hang_guard) {
  auto start = steady::now();
  while (!done()) {
    if (steady::now() - start > limit)
      return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
  return steady::now() - start;
}

// The first column of the first row as an integer (COUNT(*) and the like).
inline std::int64_t first_int_of(const exasol::result_set& rows) {
  const auto& v = rows.at(0, 0);
  if (auto i = std::get_if<std::int64_t>(&v))
    return *i;
  return std::stoll(std::get<exasol::decimal>(v).text);
}

// What the load drivers saw, summed.
struct outcomes {
  std::int64_t answered = 0;
  std::map<std::string, std::int64_t> failed_by_code; // pool_errc name (or CAF's rendering)
  std::vector<std::string> sample_errors;             // a few texts, for the report
  std::int64_t empty_texts = 0;                       // errors that named nothing
  std::int64_t longest_ns = 0;                        // the slowest request, wait included

  std::int64_t failed() const {
    std::int64_t n = 0;
    for (auto& [code, count] : failed_by_code)
      n += count;
    return n;
  }
  void print(const std::string& what, double seconds) const {
    std::cout << what << ": " << answered << " answered, " << failed() << " failed in " << seconds
              << " s; slowest " << static_cast<double>(longest_ns) / 1e6 << " ms; failures:";
    for (auto& [code, count] : failed_by_code)
      std::cout << " " << code << "=" << count;
    std::cout << std::endl;
    for (auto& text : sample_errors)
      std::cout << "  e.g. " << text << std::endl;
  }
};

// Runs `sessions` session actors, each issuing `sql` one statement after another until
// `run_for` has passed, with every request guarded by `request_limit`. Returns every outcome.
outcomes run_load(runtime& rt, const credentials& creds, int sessions, const std::string& sql,
                  steady::duration run_for, caf::timespan request_limit);

// Waits until exasim has no live session (hang guard); true when it got there.
inline bool server_drained(const exasim::server& db) {
  return time_until([&] { return db.stats().active_sessions == 0; }).has_value();
}

} // namespace exapool::reliability

// Outcomes travel between two actors of one process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(exapool::reliability::outcomes)
