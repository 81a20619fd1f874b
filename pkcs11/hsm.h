// Hsm: the PKCS#11 side of the service in one object: the loaded module, the
// logged-in token and its key store. Owned by main; destroying it closes the
// sessions and calls C_Finalize (after every user of keys() is gone).
// Free of PKCS#11 types. Thread-safe.
#ifndef KSEF_PKCS11_HSM_H_
#define KSEF_PKCS11_HSM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/secure_string.h"
#include "pkcs11/key_store.h"

namespace ksef::pkcs11 {

class Module;
class Token;

struct HsmOptions {
  std::string module_path;
  std::string token_label;
  std::string token_serial;  // wins over token_label when set
  SecureString pin;
  std::string softhsm2_conf;    // exported as SOFTHSM2_CONF before C_Initialize if set
  std::string token_store_dir;  // fsync'ed after object changes if set
  int session_pool_size = 8;
  int max_concurrent_signs = 4;
  TokenSignObserver on_token_sign;  // may be empty (key_store.h)
};

// The token now, for metrics.
struct HsmStats {
  bool usable = false;      // false while the health monitor recovers it
  uint64_t reconnects = 0;  // reconnect steps since Open
  int session_pool_size = 0;
  int sessions_open = 0;
  int sessions_in_use = 0;
  int sessions_waiting = 0;  // calls waiting for a session of the pool
  SignLoad signs;
};

class Hsm {
 public:
  // Loads the module, finds the token and logs in (once; a wrong PIN is not
  // retried). Status codes: NOT_FOUND (module file or token missing),
  // PERMISSION_DENIED (wrong PIN), FAILED_PRECONDITION (not a PKCS#11 module,
  // PIN locked), UNAVAILABLE (device error).
  static absl::StatusOr<std::unique_ptr<Hsm>> Open(HsmOptions options);
  ~Hsm();

  KeyStore& keys() { return *keys_; }

  // Probes the token (logged in, same serial, the required key visible); when
  // that fails, recovers (new sessions, log in, re-initialize the module) and
  // returns why the token is still not usable: UNAVAILABLE while the device
  // is gone or not the expected token, FAILED_PRECONDITION after a PIN
  // failure. The health monitor's call.
  absl::Status CheckHealth();
  // True when a call saw trouble since the last CheckHealth: check now.
  bool check_requested() const;

  // The key whose presence proves the token is the expected one (the audit
  // key): checked by CheckHealth and before every object write
  // (KeyStore::RequireOnToken: with the handle the start-up inventory found).
  void RequireKey(const std::string& cka_id);

  // Cheap (atomics and the pool's lock); for the metrics endpoint.
  HsmStats Stats() const;

  const std::string& token_label() const;
  const std::string& module_description() const;

 private:
  Hsm() = default;
  std::unique_ptr<Module> module_;
  std::unique_ptr<Token> token_;
  std::unique_ptr<KeyStore> keys_;
};

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_HSM_H_
