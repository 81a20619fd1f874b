// SessionPool: a bounded pool of read-write PKCS#11 sessions on one slot,
// lent out as RAII SessionLease objects.
//
// Sessions are opened lazily up to `max_sessions`; Acquire waits (up to a
// timeout) when all are lent out. Each lease carries the pool generation it
// was opened in. On return a lease is
//   - kept for reuse when healthy and of the current generation;
//   - closed when marked poisoned (alive, but in an unknown operation state);
//   - dropped WITHOUT C_CloseSession when marked lost or from an older
//     generation: its handle number may already belong to a new session
//     (modules reissue handles), so closing it could kill another thread's
//     live session.
// Reset() starts a new generation after the owner closed every session of
// the slot (C_CloseAllSessions) or re-initialized the module.
// Thread-safe. Internal to pkcs11/ (Token owns the pool; use Token::WithSession).
#ifndef KSEF_PKCS11_INTERNAL_SESSION_POOL_H_
#define KSEF_PKCS11_INTERNAL_SESSION_POOL_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pkcs11/internal/pkcs11_api.h"

namespace ksef::pkcs11 {

class SessionPool;

class SessionLease {
 public:
  SessionLease() = default;
  SessionLease(SessionLease&& other) noexcept;
  SessionLease& operator=(SessionLease&& other) noexcept;
  SessionLease(const SessionLease&) = delete;
  SessionLease& operator=(const SessionLease&) = delete;
  ~SessionLease();

  CK_SESSION_HANDLE get() const { return handle_; }
  uint64_t generation() const { return generation_; }
  // The session is gone on the device (or the token is): drop, never close.
  void MarkLost() { fate_ = Fate::kLost; }
  // The session is alive but an operation on it failed half-way: close it.
  void MarkPoisoned() {
    if (fate_ == Fate::kReuse) fate_ = Fate::kPoisoned;
  }

 private:
  friend class SessionPool;
  enum class Fate { kReuse, kPoisoned, kLost };
  SessionLease(SessionPool* pool, CK_SESSION_HANDLE handle, uint64_t generation)
      : pool_(pool), handle_(handle), generation_(generation) {}
  void Return();

  SessionPool* pool_ = nullptr;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
  uint64_t generation_ = 0;
  Fate fate_ = Fate::kReuse;
};

// The pool now (for metrics): its bound, sessions open in the current
// generation, how many of them are lent out, and callers waiting for one.
struct SessionPoolStats {
  int size = 0;
  int open = 0;
  int in_use = 0;
  int waiting = 0;
};

class SessionPool {
 public:
  SessionPool(CK_FUNCTION_LIST* f, CK_SLOT_ID slot, int max_sessions);
  ~SessionPool();  // closes idle sessions; all leases must have been returned
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // RESOURCE_EXHAUSTED when no session frees up within `timeout`;
  // the mapped C_OpenSession status (e.g. UNAVAILABLE) when opening fails.
  absl::StatusOr<SessionLease> Acquire(absl::Duration timeout);

  // Forgets every session without closing any (the caller has closed them
  // all, or finalized the module) and opens new ones on `slot` in
  // `generation` from now on.
  void Reset(CK_SLOT_ID slot, uint64_t generation);

  SessionPoolStats Stats() const;

 private:
  friend class SessionLease;
  void Release(CK_SESSION_HANDLE handle, uint64_t generation, SessionLease::Fate fate);

  CK_FUNCTION_LIST* const f_;
  const int max_sessions_;
  mutable absl::Mutex mu_;
  CK_SLOT_ID slot_ ABSL_GUARDED_BY(mu_);
  std::vector<CK_SESSION_HANDLE> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // sessions of the current generation
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;  // in Acquire, for a session to free up
};

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_SESSION_POOL_H_
