// Catch2's main, compiled once for every suite.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
