// TestToken: a throwaway SoftHSM2 token in a fresh temp dir, for behaviour
// tests. Create() writes a softhsm2.conf, points SOFTHSM2_CONF at it (before
// any C_Initialize in this process), and initializes a token with a random
// PIN via softhsm2-util. The directory is removed on destruction.
// If SoftHSM2 is missing, Create() fails with an install hint: tests must
// fail, never skip, without it.
#ifndef KSEF_TESTS_SUPPORT_SOFTHSM_TOKEN_H_
#define KSEF_TESTS_SUPPORT_SOFTHSM_TOKEN_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace ksef::testing {

class TestToken {
 public:
  static absl::StatusOr<std::unique_ptr<TestToken>> Create(const std::string& label = "ksef-test");
  ~TestToken();

  const std::string& dir() const { return dir_; }              // temp root
  const std::string& conf_path() const { return conf_path_; }  // softhsm2.conf
  const std::string& token_dir() const { return token_dir_; }  // directories.tokendir
  const std::string& label() const { return label_; }
  const std::string& pin() const { return pin_; }
  const std::string& pin_file() const { return pin_file_; }  // mode 0600
  const std::string& so_pin() const { return so_pin_; }
  static std::string ModulePath();  // /usr/lib/softhsm/libsofthsm2.so

 private:
  TestToken() = default;
  std::string dir_, conf_path_, token_dir_, label_, pin_, pin_file_, so_pin_;
};

// Runs a shell command; returns its exit status and captures stdout+stderr.
int RunCommand(const std::string& command, std::string* output = nullptr);

// A fresh temp directory (mkdtemp under $TMPDIR or /tmp).
std::string MakeTempDir(const std::string& prefix);

}  // namespace ksef::testing

#endif  // KSEF_TESTS_SUPPORT_SOFTHSM_TOKEN_H_
