// The exapool::runtime_error a call of the blocking API throws; a call that throws nothing (or
// something else) fails the test.
#pragma once

#include "actors/runtime.hpp"

#include <catch2/catch.hpp>

namespace exapool::testing {

template <class Call> runtime_error thrown_by(Call call) {
  try {
    call();
  } catch (const runtime_error& e) {
    return e;
  }
  FAIL("no runtime_error");
  return runtime_error(pool_errc::none, "");
}

} // namespace exapool::testing
