// SessionPool: a bounded pool of read-write PKCS#11 sessions on one slot,
// lent out as RAII SessionLease objects.
//
// Sessions are opened lazily up to `max_sessions`; Acquire waits (up to a
// timeout) when all are lent out. A lease marked broken is closed instead of
// returned. Reset() closes idle sessions and makes every outstanding lease
// close its session on return (used after the token was lost and re-opened).
// Thread-safe. Internal to hsm/.
#ifndef KSEF_HSM_SESSION_POOL_H_
#define KSEF_HSM_SESSION_POOL_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hsm/pkcs11_api.h"

namespace ksef::hsm {

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
  // The session is unusable (device error, session lost): close, don't reuse.
  void MarkBroken() { broken_ = true; }

 private:
  friend class SessionPool;
  SessionLease(SessionPool* pool, CK_SESSION_HANDLE handle, uint64_t generation)
      : pool_(pool), handle_(handle), generation_(generation) {}
  void Return();

  SessionPool* pool_ = nullptr;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
  uint64_t generation_ = 0;
  bool broken_ = false;
};

class SessionPool {
 public:
  SessionPool(CK_FUNCTION_LIST* f, CK_SLOT_ID slot, int max_sessions);
  ~SessionPool();  // all leases must have been returned
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // RESOURCE_EXHAUSTED when no session frees up within `timeout`;
  // UNAVAILABLE (or another mapped code) when C_OpenSession fails.
  absl::StatusOr<SessionLease> Acquire(absl::Duration timeout);

  // Closes idle sessions; sessions now lent out are closed when returned.
  // New sessions are opened on `slot` (the slot id may change on re-plug).
  void Reset(CK_SLOT_ID slot);

  int open_sessions() const;

 private:
  friend class SessionLease;
  void Release(CK_SESSION_HANDLE handle, uint64_t generation, bool broken);

  CK_FUNCTION_LIST* const f_;
  const int max_sessions_;
  mutable absl::Mutex mu_;
  CK_SLOT_ID slot_ ABSL_GUARDED_BY(mu_);
  std::vector<CK_SESSION_HANDLE> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ksef::hsm

#endif  // KSEF_HSM_SESSION_POOL_H_
