// FUZZ_CHECK: the invariant checks of the libFuzzer targets in tests/fuzz/.
//
// A failed check prints the condition and its location to stderr and calls
// abort(), which libFuzzer reports as a crash and saves the input. Unlike
// assert() it is never compiled out. For the fuzz targets only.
#ifndef KSEF_TESTS_FUZZ_FUZZ_CHECK_H_
#define KSEF_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (false)

#endif  // KSEF_TESTS_FUZZ_FUZZ_CHECK_H_
