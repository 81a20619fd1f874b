// TestToken: a throwaway PKCS#11 token in a fresh temp dir, for behaviour
// tests, on the implementation that KSEF_TEST_PKCS11_BACKEND names:
//
//  * unset or "softhsm2": SoftHSM2. Create() writes a softhsm2.conf, points
//    SOFTHSM2_CONF at it (before any C_Initialize in this process), and
//    initializes a token with a random PIN via softhsm2-util.
//  * "tpm2": tpm2-pkcs11 over its own swtpm TPM 2.0 simulator behind the
//    tpm2-abrmd resource manager on a private D-Bus (tests/support/
//    tpm2_token.cc): Create() starts the three in the temp dir, points
//    TPM2_PKCS11_STORE, TPM2_PKCS11_TCTI and DBUS_SESSION_BUS_ADDRESS at them
//    (before any C_Initialize in this process, and inherited by the servers
//    and tools the test starts), and initializes a token and its user PIN
//    with pkcs11-tool through the module. The destructor stops them.
//
// Any other value, or a backend whose packages are missing, makes Create()
// fail with an install hint: tests must fail, never skip, without it.
// The directory is removed on destruction.
#ifndef KSEF_TESTS_SUPPORT_SOFTHSM_TOKEN_H_
#define KSEF_TESTS_SUPPORT_SOFTHSM_TOKEN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ksef::testing {

enum class Pkcs11Backend { kSoftHsm2, kTpm2 };

class TestToken {
 public:
  static absl::StatusOr<std::unique_ptr<TestToken>> Create(const std::string& label = "ksef-test");
  ~TestToken();

  // The backend KSEF_TEST_PKCS11_BACKEND selects; INVALID_ARGUMENT for an
  // unknown name.
  static absl::StatusOr<Pkcs11Backend> Backend();
  static bool IsTpm2() {
    return Backend().value_or(Pkcs11Backend::kSoftHsm2) == Pkcs11Backend::kTpm2;
  }

  const std::string& dir() const { return dir_; }  // temp root
  // softhsm2.conf; empty for tpm2 (nothing to export).
  const std::string& conf_path() const { return conf_path_; }
  // SoftHSM2: directories.tokendir (fsync'ed by the key store). tpm2: empty
  // (its store is an SQLite database that syncs itself).
  const std::string& token_dir() const { return token_dir_; }
  const std::string& label() const { return label_; }
  const std::string& pin() const { return pin_; }
  const std::string& pin_file() const { return pin_file_; }  // mode 0600
  const std::string& so_pin() const { return so_pin_; }
  // tpm2 only: resets the simulated TPM's dictionary-attack lockout (three
  // wrong PINs lock every DA-protected object) with tpm2_dictionarylockout.
  absl::Status ClearTpm2Lockout() const;

  // The backend's module: /usr/lib/softhsm/libsofthsm2.so or
  // /usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so (the multiarch dir).
  static std::string ModulePath();

 private:
  TestToken() = default;
  // Fills label_, pin_, so_pin_ and pin_file_ in dir_.
  void MakePins(const std::string& label);
  absl::Status InitSoftHsm2();
  absl::Status InitTpm2();  // tpm2_token.cc
  void StopTpm2();          // tpm2_token.cc; stops the helpers in tpm2_pids_

  std::string dir_, conf_path_, token_dir_, label_, pin_, pin_file_, so_pin_;
  std::vector<int> tpm2_pids_;  // swtpm, dbus-daemon, tpm2-abrmd (in start order)
};

// Runs a shell command; returns its exit status and captures stdout+stderr.
int RunCommand(const std::string& command, std::string* output = nullptr);

// A fresh temp directory (mkdtemp under $TMPDIR or /tmp).
std::string MakeTempDir(const std::string& prefix);

}  // namespace ksef::testing

#endif  // KSEF_TESTS_SUPPORT_SOFTHSM_TOKEN_H_
