// Token: the logged-in token the service works on.
//
// Open() finds the token by serial or label, opens a long-lived anchor
// session and logs in once (SoftHSM2 logs the token out when its last session
// closes, so the anchor session is never lent out). Work sessions come from a
// bounded SessionPool.
//
// Failure handling: operations that see a lost session/device call
// ReportLost(); Recover() (called by the health monitor) then re-finds the
// token, re-opens the anchor session and logs in again, bumping generation()
// so handle caches know to re-resolve. A wrong or locked PIN is never retried:
// it makes the token permanently unusable until restart (so a bad PIN cannot
// lock the token by repeated attempts).
// Thread-safe. Internal to hsm/.
#ifndef KSEF_HSM_TOKEN_H_
#define KSEF_HSM_TOKEN_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/secure_string.h"
#include "hsm/module.h"
#include "hsm/session_pool.h"

namespace ksef::hsm {

struct TokenSelector {
  std::string label;   // CKA token label; used when serial is empty
  std::string serial;  // token serial number; wins over label
};

class Token {
 public:
  // NOT_FOUND when no initialized token matches, PERMISSION_DENIED for a wrong
  // PIN, FAILED_PRECONDITION for a locked PIN; messages never contain the PIN.
  static absl::StatusOr<std::unique_ptr<Token>> Open(Module* module, TokenSelector selector,
                                                     SecureString pin, int pool_size);
  ~Token();  // closes every session (logs out implicitly)
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

  CK_FUNCTION_LIST* f() const { return module_->f(); }
  const std::string& label() const { return label_; }
  const std::string& serial() const { return serial_; }

  // A work session. UNAVAILABLE while the token is lost or the PIN failed.
  absl::StatusOr<SessionLease> Lease(absl::Duration timeout = absl::Seconds(10));

  // Object creation/destruction takes this exclusively; every other use of
  // token objects (find, read attributes, sign) takes it shared. SoftHSM2
  // 2.6.1's file store fails C_GenerateKeyPair with CKR_GENERAL_ERROR when
  // other sessions read objects while a new object file is written
  // (softhsm/SoftHSMv2#573); serializing only the writers is not enough.
  std::shared_mutex& object_mutex() { return object_mu_; }

  // Called after an operation returned a "session lost" CK_RV.
  void ReportLost();
  // OK if `session` is still in a logged-in state; otherwise reports the
  // token lost and returns UNAVAILABLE. Call it before concluding that a
  // private object is missing: a logged-out session simply cannot see it.
  absl::Status EnsureLoggedIn(CK_SESSION_HANDLE session);
  // OK if usable now. Otherwise tries to re-establish the login once and
  // returns the outcome (UNAVAILABLE while the device is gone).
  absl::Status CheckAndRecover();
  bool usable() const { return usable_.load(); }
  // Changes whenever sessions/handles from before may be invalid.
  uint64_t generation() const { return generation_.load(); }

 private:
  Token(Module* module, TokenSelector selector, SecureString pin, int pool_size);
  absl::StatusOr<CK_SLOT_ID> FindSlot();
  absl::Status Login();  // opens anchor_ and logs in; requires recover_mu_

  Module* const module_;
  const TokenSelector selector_;
  const SecureString pin_;
  std::string label_;
  std::string serial_;
  CK_SLOT_ID slot_ = 0;
  CK_SESSION_HANDLE anchor_ = CK_INVALID_HANDLE;
  std::unique_ptr<SessionPool> pool_;
  std::shared_mutex object_mu_;
  absl::Mutex recover_mu_;
  std::atomic<bool> usable_{false};
  std::atomic<bool> pin_failed_{false};
  std::atomic<uint64_t> generation_{0};
};

}  // namespace ksef::hsm

#endif  // KSEF_HSM_TOKEN_H_
