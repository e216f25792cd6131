// What a fuzz target does when an input breaks a promise the code under test makes: it names
// the promise on stderr and aborts, so libFuzzer saves the input as a reproducer.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                      \
  do {                                                                                             \
    if (!(condition)) {                                                                            \
      std::fprintf(stderr, "fuzz check failed at %s:%d: %s\n", __FILE__, __LINE__, #condition);    \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)
