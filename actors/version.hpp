// exapool's version, for code that builds against it (`#include <exapool/runtime.hpp>` brings
// it) and for `exapool --version`. CMake's project(VERSION) must say the same: a unit test
// compares them.
#pragma once

#define EXAPOOL_VERSION_MAJOR 0
#define EXAPOOL_VERSION_MINOR 1
#define EXAPOOL_VERSION_PATCH 0
#define EXAPOOL_VERSION_STRING "0.1.0"
// One number that grows with every release: major * 10000 + minor * 100 + patch.
#define EXAPOOL_VERSION                                                                            \
  (EXAPOOL_VERSION_MAJOR * 10000 + EXAPOOL_VERSION_MINOR * 100 + EXAPOOL_VERSION_PATCH)
