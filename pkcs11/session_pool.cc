#include "pkcs11/internal/session_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pkcs11/internal/ck_status.h"

namespace ksef::pkcs11 {

SessionLease::SessionLease(SessionLease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      handle_(std::exchange(other.handle_, CK_INVALID_HANDLE)),
      generation_(other.generation_),
      fate_(other.fate_) {}

SessionLease& SessionLease::operator=(SessionLease&& other) noexcept {
  if (this != &other) {
    Return();
    pool_ = std::exchange(other.pool_, nullptr);
    handle_ = std::exchange(other.handle_, CK_INVALID_HANDLE);
    generation_ = other.generation_;
    fate_ = other.fate_;
  }
  return *this;
}

SessionLease::~SessionLease() { Return(); }

void SessionLease::Return() {
  if (pool_ != nullptr) pool_->Release(handle_, generation_, fate_);
  pool_ = nullptr;
  handle_ = CK_INVALID_HANDLE;
}

SessionPool::SessionPool(CK_FUNCTION_LIST* f, CK_SLOT_ID slot, int max_sessions)
    : f_(f), max_sessions_(max_sessions), slot_(slot) {}

SessionPool::~SessionPool() {
  absl::MutexLock lock(&mu_);
  for (CK_SESSION_HANDLE h : idle_) f_->C_CloseSession(h);
  idle_.clear();
}

absl::StatusOr<SessionLease> SessionPool::Acquire(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !idle_.empty() || open_ < max_sessions_;
  };
  ++waiting_;
  const bool got_one = mu_.AwaitWithTimeout(absl::Condition(&available), timeout);
  --waiting_;
  if (!got_one) {
    return absl::ResourceExhaustedError(
        absl::StrCat("all ", max_sessions_,
                     " PKCS#11 sessions are busy; retry later or raise session_pool_size"));
  }
  if (!idle_.empty()) {
    CK_SESSION_HANDLE h = idle_.back();
    idle_.pop_back();
    return SessionLease(this, h, generation_);
  }
  CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
  // Opening a session is quick and must see a consistent slot id, so it is
  // done under the lock.
  CK_RV rv = f_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &h);
  if (rv != CKR_OK) return CkStatus(rv, "C_OpenSession");
  ++open_;
  return SessionLease(this, h, generation_);
}

void SessionPool::Release(CK_SESSION_HANDLE handle, uint64_t generation,
                          SessionLease::Fate fate) {
  absl::MutexLock lock(&mu_);
  if (generation != generation_) return;  // forgotten by Reset: never close
  switch (fate) {
    case SessionLease::Fate::kReuse:
      idle_.push_back(handle);
      return;
    case SessionLease::Fate::kPoisoned:
      f_->C_CloseSession(handle);  // ours and alive: safe to close
      --open_;
      return;
    case SessionLease::Fate::kLost:
      --open_;  // gone on the device; the number may be reissued
      return;
  }
}

SessionPoolStats SessionPool::Stats() const {
  absl::MutexLock lock(&mu_);
  return {max_sessions_, open_, open_ - static_cast<int>(idle_.size()), waiting_};
}

void SessionPool::Reset(CK_SLOT_ID slot, uint64_t generation) {
  absl::MutexLock lock(&mu_);
  idle_.clear();
  open_ = 0;
  slot_ = slot;
  generation_ = generation;
}

}  // namespace ksef::pkcs11
