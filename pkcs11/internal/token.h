// Token: the logged-in token the service works on, and the one way to use a
// session on it.
//
// Open() finds the token by serial or label, pins its serial, opens a
// long-lived anchor session and logs in once (SoftHSM2 logs the token out
// when its last session closes, so the anchor session is never lent out).
// Work sessions come from a bounded SessionPool and are used only inside
// WithSession(), which always takes the token's object lock first and then a
// session (one lock order everywhere; see WithSession).
//
// Generations and recovery. Every lease carries the generation it was opened
// in. A call that sees the session or token gone reports it for its
// generation (Session::Check); a report from an older generation is ignored,
// so a stale failure never tears down a fresh login. CheckAndRecover() (the
// health monitor's call) probes the token and, when it is not usable,
// recovers with escalation while holding the object lock exclusively (no
// session is in use then): close every session of the slot and log in again;
// if that fails, C_Finalize + C_Initialize and log in again. Each step starts
// a new generation; old handles are forgotten, never closed. The token is
// used again only when the probe passes: same serial as at Open, logged in,
// and the required key (RequireKey: the audit key) visible. A token that comes
// back with another serial or without that key stays unusable (fail closed).
// A wrong or locked PIN is never retried: it makes the token unusable until
// restart (so a bad PIN cannot lock the token by repeated attempts).
// Thread-safe. Internal to pkcs11/.
#ifndef KSEF_PKCS11_INTERNAL_TOKEN_H_
#define KSEF_PKCS11_INTERNAL_TOKEN_H_

#include <atomic>
#include <memory>
#include <string>
#include <type_traits>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/secure_string.h"
#include "pkcs11/internal/module.h"
#include "pkcs11/internal/session.h"
#include "pkcs11/internal/session_pool.h"

namespace ksef::pkcs11 {

struct TokenSelector {
  std::string label;   // CKA token label; used when serial is empty
  std::string serial;  // token serial number; wins over label
};

// What a WithSession callback does to token objects.
enum class ObjectAccess {
  kRead,   // find, read attributes, sign
  kWrite,  // create or destroy objects
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
  bool serializes_object_writes() const { return module_->serializes_object_writes(); }
  // Fixed at Open (recovery never changes them).
  const std::string& label() const { return label_; }
  const std::string& serial() const { return serial_; }

  // Runs fn(Session&) on a leased session and returns what fn returns (an
  // absl::Status or absl::StatusOr<T>). Takes the object lock first, then the
  // session: shared for kRead, and for kWrite on modules that allow
  // concurrent object writes; exclusive for kWrite on modules that do not
  // (SoftHSM2 2.6.1 fails C_GenerateKeyPair with CKR_GENERAL_ERROR when other
  // sessions read objects while a new object file is written,
  // softhsm/SoftHSMv2#573). The lock is writer-fair (absl::Mutex): steady
  // signing cannot starve key creation. UNAVAILABLE at once while the token
  // is not usable; RESOURCE_EXHAUSTED when no session frees up in 10 s.
  // fn must not call WithSession (the lock is not re-entrant).
  template <typename Fn>
  std::invoke_result_t<Fn&, Session&> WithSession(ObjectAccess access, Fn&& fn);

  // The private key (by CKA_ID) whose presence proves this is the expected
  // token: checked by every probe and by CheckIdentity.
  // `known`: the key's handle if the caller has one (from the start-up
  // inventory), valid in `known_generation`; saves CheckIdentity its one find.
  void RequireKey(std::string cka_id, CK_OBJECT_HANDLE known = CK_INVALID_HANDLE,
                  uint64_t known_generation = 0);
  // OK when the required key (if any) is visible through `session`; otherwise
  // requests a check and returns UNAVAILABLE. Object writes call it first, so
  // nothing is created in a token that is not the expected one. Cost does not
  // grow with the number of objects: the key's handle is found once per
  // generation, and later checks read CKA_CLASS and CKA_ID of that handle
  // (a token swapped or the object removed makes the handle invalid or show
  // other values; then it is looked for again by CKA_ID).
  absl::Status CheckIdentity(Session& session);

  // For a key the service knows (it is asked to sign with it) that the token
  // does not show: requests a check and returns UNAVAILABLE, never NOT_FOUND:
  // the token may be failing; a key truly removed outside the service is
  // reported by check-consistency.
  absl::Status KnownKeyMissing();

  // A call on a lease of `generation` saw the session or token gone.
  void ReportLost(uint64_t generation);
  // Something looked wrong (a key the service knows is not visible): the
  // health monitor probes the token at its next chance.
  void RequestCheck() { check_requested_ = true; }
  bool check_requested() const { return check_requested_.load(); }

  // OK if the probe passes; otherwise recovers (see above) and returns the
  // outcome: UNAVAILABLE while the device is gone or not the expected one,
  // FAILED_PRECONDITION after a PIN failure.
  absl::Status CheckAndRecover();
  bool usable() const { return usable_.load(); }
  // Changes whenever sessions/handles from before may be invalid.
  uint64_t generation() const { return generation_.load(); }
  // Reconnect steps since Open (each starts a new generation).
  uint64_t reconnects() const { return generation_.load() - 1; }
  SessionPoolStats pool_stats() const { return pool_->Stats(); }

 private:
  struct Found {
    CK_SLOT_ID slot = 0;
    std::string label;
    std::string serial;
  };
  // Holds the object lock shared or exclusive for one WithSession call.
  class ObjectLock {
   public:
    ObjectLock(absl::Mutex* mu, bool exclusive) ABSL_NO_THREAD_SAFETY_ANALYSIS;
    ~ObjectLock() ABSL_NO_THREAD_SAFETY_ANALYSIS;
    ObjectLock(const ObjectLock&) = delete;
    ObjectLock& operator=(const ObjectLock&) = delete;

   private:
    absl::Mutex* const mu_;
    const bool exclusive_;
  };

  Token(Module* module, TokenSelector selector, SecureString pin);
  absl::StatusOr<Found> FindSlot(const TokenSelector& selector) const;
  absl::StatusOr<SessionLease> LeaseForCall();
  absl::Status Login() ABSL_EXCLUSIVE_LOCKS_REQUIRED(recover_mu_);
  absl::Status Probe() ABSL_EXCLUSIVE_LOCKS_REQUIRED(recover_mu_);
  absl::Status ProbeHeld() ABSL_EXCLUSIVE_LOCKS_REQUIRED(recover_mu_)
      ABSL_SHARED_LOCKS_REQUIRED(object_mu_);
  absl::Status Recover() ABSL_EXCLUSIVE_LOCKS_REQUIRED(recover_mu_);
  absl::Status Reconnect(bool reinitialize) ABSL_EXCLUSIVE_LOCKS_REQUIRED(recover_mu_, object_mu_);
  void ForgetSessions() ABSL_EXCLUSIVE_LOCKS_REQUIRED(recover_mu_, object_mu_);
  std::string required_key() const;
  // True when `handle` (found in the current generation) still is the
  // private key `id`; UNAVAILABLE when the session is gone.
  absl::StatusOr<bool> StillRequiredKey(Session& session, const std::string& id);

  Module* const module_;
  const TokenSelector selector_;
  const SecureString pin_;
  std::string label_;   // set once in Open
  std::string serial_;  // set once in Open
  std::unique_ptr<SessionPool> pool_;  // set once in Open

  // Lock order: recover_mu_, then object_mu_, then the pool's and
  // required_mu_ (leaves).
  absl::Mutex recover_mu_;
  absl::Mutex object_mu_ ABSL_ACQUIRED_AFTER(recover_mu_);
  CK_SLOT_ID slot_ ABSL_GUARDED_BY(recover_mu_) = 0;
  CK_SESSION_HANDLE anchor_ ABSL_GUARDED_BY(recover_mu_) = CK_INVALID_HANDLE;
  mutable absl::Mutex required_mu_;
  std::string required_key_ ABSL_GUARDED_BY(required_mu_);
  // The required key's handle as last found, and the generation it is valid in.
  CK_OBJECT_HANDLE required_handle_ ABSL_GUARDED_BY(required_mu_) = CK_INVALID_HANDLE;
  uint64_t required_generation_ ABSL_GUARDED_BY(required_mu_) = 0;
  absl::Time last_failure_log_ ABSL_GUARDED_BY(recover_mu_) = absl::InfinitePast();

  std::atomic<bool> usable_{false};
  std::atomic<bool> pin_failed_{false};
  std::atomic<bool> check_requested_{false};
  std::atomic<uint64_t> generation_{1};
};

template <typename Fn>
std::invoke_result_t<Fn&, Session&> Token::WithSession(ObjectAccess access, Fn&& fn) {
  bool exclusive = access == ObjectAccess::kWrite && module_->serializes_object_writes();
  ObjectLock lock(&object_mu_, exclusive);
  absl::StatusOr<SessionLease> lease = LeaseForCall();
  if (!lease.ok()) return lease.status();
  Session session(this, &*lease);
  return fn(session);
}

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_TOKEN_H_
