// The exasol::error a call throws; a call that throws nothing (or something else) fails the test.
#pragma once

#include "integration/exasol/errors.hpp"

#include <catch2/catch.hpp>

#include <functional>

namespace exasol::testing {

inline error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const error& e) {
    return e;
  }
  FAIL("no exasol::error thrown");
  return error(error_kind::server, "");
}

} // namespace exasol::testing
