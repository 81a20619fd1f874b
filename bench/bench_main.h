// The start of the gtest-driven benches (grpc_load, grpc_thread_model,
// cluster_bench, many_keys_bench): gtest's own flags, then each bench flag
// ("--name=value"; one not listed is ignored), then KSEF_SOURCE_DIR and
// KSEF_BUILD_DIR set to this build's trees unless already set (the e2e
// fixtures find the scripts and ksef-hsmd there), then the benches.
// Header-only: KSEF_BENCH_SOURCE_DIR and KSEF_BENCH_BUILD_DIR are each bench
// target's compile definitions (bench/CMakeLists.txt).
#ifndef KSEF_BENCH_BENCH_MAIN_H_
#define KSEF_BENCH_BENCH_MAIN_H_

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace ksef::bench {

// A flag: its prefix ("--seconds=") and what to do with the rest of the
// argument.
struct Flag {
  absl::string_view prefix;
  std::function<void(absl::string_view value)> set;
};

inline Flag IntFlag(absl::string_view prefix, int* out) {
  return {prefix, [out](absl::string_view v) { (void)absl::SimpleAtoi(v, out); }};
}
inline Flag DoubleFlag(absl::string_view prefix, double* out) {
  return {prefix, [out](absl::string_view v) { (void)absl::SimpleAtod(v, out); }};
}
inline Flag StringFlag(absl::string_view prefix, std::string* out) {
  return {prefix, [out](absl::string_view v) { *out = std::string(v); }};
}

// Runs the benches of this program (RUN_ALL_TESTS) after the set-up above.
inline int RunBenches(int argc, char** argv, const std::vector<Flag>& flags) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    for (const Flag& flag : flags) {
      absl::string_view arg = argv[i];
      if (absl::ConsumePrefix(&arg, flag.prefix)) flag.set(arg);
    }
  }
  setenv("KSEF_SOURCE_DIR", KSEF_BENCH_SOURCE_DIR, /*overwrite=*/0);
  setenv("KSEF_BUILD_DIR", KSEF_BENCH_BUILD_DIR, /*overwrite=*/0);
  return RUN_ALL_TESTS();
}

}  // namespace ksef::bench

#endif  // KSEF_BENCH_BENCH_MAIN_H_
