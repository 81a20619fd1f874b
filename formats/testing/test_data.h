// Test-only helpers for the formats/ tests: files under tests/testdata.
#ifndef KSEF_FORMATS_TESTING_TEST_DATA_H_
#define KSEF_FORMATS_TESTING_TEST_DATA_H_

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "common/files.h"

namespace ksef::testdata {

// The path of tests/testdata/<name>; ctest sets KSEF_SOURCE_DIR.
inline std::string Path(const std::string& name) {
  const char* dir = std::getenv("KSEF_SOURCE_DIR");
  EXPECT_NE(dir, nullptr) << "KSEF_SOURCE_DIR must point at the source tree (ctest sets it)";
  return std::string(dir == nullptr ? "." : dir) + "/tests/testdata/" + name;
}

inline std::string Read(const std::string& name) {
  auto content = ReadFile(Path(name));
  EXPECT_TRUE(content.ok()) << content.status();
  return content.ok() ? *content : "";
}

}  // namespace ksef::testdata

#endif  // KSEF_FORMATS_TESTING_TEST_DATA_H_
