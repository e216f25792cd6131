// Helpers every actor test shares: blocking requests from a scoped_actor with a hang guard
// (the pool's own timeouts fire first and carry the asserted error), polling, and a clean
// environment for the pool-size variables.
#pragma once

#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>

namespace exapool::testing {

using namespace std::chrono_literals;

// Only guards against hangs; never what a test asserts.
inline constexpr auto hang_guard = std::chrono::seconds(30);

// A request answered with a value; anything else fails the test.
template <class T, class Handle, class... Ts>
T ask(caf::scoped_actor& self, const Handle& dest, const Ts&... xs) {
  std::optional<T> out;
  std::string failure;
  self->request(dest, hang_guard, xs...)
      .receive([&](T& x) { out = std::move(x); },
               [&](caf::error& err) { failure = self->system().render(err); });
  if (!out)
    FAIL("request failed: " << failure);
  return std::move(*out);
}

// A request answered with an error (returned); a value fails the test.
template <class T, class Handle, class... Ts>
caf::error ask_error(caf::scoped_actor& self, const Handle& dest, const Ts&... xs) {
  caf::error out;
  bool answered_with_value = false;
  self->request(dest, hang_guard, xs...)
      .receive([&](T&) { answered_with_value = true; }, [&](caf::error& err) { out = err; });
  if (answered_with_value)
    FAIL("expected an error, got a value");
  return out;
}

// Polls `done` until it holds (hang guard only; the condition is what is asserted).
inline bool eventually(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + hang_guard;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// Clears EXAPOOL_POOL_SIZE and DBT_CONN_POOL_SIZE for a test and again after it.
struct env_guard {
  env_guard() { clear(); }
  ~env_guard() { clear(); }
  static void clear() {
    unsetenv("EXAPOOL_POOL_SIZE");
    unsetenv("DBT_CONN_POOL_SIZE");
  }
};

} // namespace exapool::testing
