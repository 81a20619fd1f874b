// ThreadSanitizer build only (-DKSEF_SANITIZE=thread, cmake/Sanitizers.cmake):
// tells TSan about the synchronization of Debian's uninstrumented abseil.
//
// libabsl_synchronization.so is not built with -fsanitize=thread, so TSan
// does not see absl::Mutex, absl::CondVar or absl::Notification synchronize
// (their fast paths are plain atomics in uninstrumented code): every
// ABSL_GUARDED_BY member would be reported as a race. Sanitizers.cmake links
// with -Wl,--wrap=<symbol> for each function below, so the calls from OUR
// objects (including absl::MutexLock and friends, which are inline in the
// headers) go to __wrap_<symbol> here, which calls the real function
// (__real_<symbol>) and records the happens-before edge it implies:
//   acquire  after a lock is taken (Lock, ReaderLock, LockWhen*, a
//            successful TryLock, the re-lock at the end of Await*/Wait*,
//            a notification that was seen);
//   release  before a lock is given up (Unlock, ReaderUnlock, the unlock at
//            the start of Await*/Wait*) and before Notify().
// A Condition (LockWhen*, Await*, MutexLock(mu, cond)) is evaluated inside
// abseil while the lock is held but before the wrapper returns, by the
// waiting thread or by the one unlocking: the wrappers hand abseil a
// Condition that records an acquire, evaluates the caller's and records a
// release (the reads happened under the lock, which abseil gives up again
// when the condition is false).
// Calls made inside gRPC or other Debian libraries are not wrapped: their
// memory accesses are not instrumented either. Not wrapped, because nothing
// of ours calls them: Notification::HasBeenNotified, BlockingCounter,
// Barrier, ReaderLockWhen*WithTimeout/Deadline.
// The symbols are abseil 20220623 as Debian 12 builds it (inline namespace
// absl::debian3); a different abseil fails to link, not silently.
#include <sanitizer/tsan_interface.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {
using absl::Condition;
using absl::CondVar;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

void Acquired(const void* sync) { __tsan_acquire(const_cast<void*>(sync)); }
void Releasing(const void* sync) { __tsan_release(const_cast<void*>(sync)); }

// The caller's condition, evaluated (always with `mu` held) after the acquire.
struct HeldCondition {
  Mutex* mu;
  const Condition* cond;
};
// The release after it: a false condition puts the waiter back to sleep, and
// abseil gives up the lock for it without a wrapped Unlock.
bool EvalHeld(HeldCondition* held) {
  Acquired(held->mu);
  const bool met = held->cond->Eval();
  Releasing(held->mu);
  return met;
}
}  // namespace

// One wrapper per mangled name. NOLINT: the names are the linker's.
#define KSEF_REAL(sym) __real_##sym
#define KSEF_WRAP(sym) __wrap_##sym

extern "C" {
// --- absl::Mutex: exclusive and shared locking -------------------------------
#define KSEF_LOCK(sym)                        \
  void KSEF_REAL(sym)(Mutex*);                \
  void KSEF_WRAP(sym)(Mutex * mu) {           \
    KSEF_REAL(sym)(mu);                       \
    Acquired(mu);                             \
  }
KSEF_LOCK(_ZN4absl7debian35Mutex4LockEv)          // Mutex::Lock()
KSEF_LOCK(_ZN4absl7debian35Mutex10ReaderLockEv)   // Mutex::ReaderLock()

#define KSEF_UNLOCK(sym)                      \
  void KSEF_REAL(sym)(Mutex*);                \
  void KSEF_WRAP(sym)(Mutex * mu) {           \
    Releasing(mu);                            \
    KSEF_REAL(sym)(mu);                       \
  }
KSEF_UNLOCK(_ZN4absl7debian35Mutex6UnlockEv)        // Mutex::Unlock()
KSEF_UNLOCK(_ZN4absl7debian35Mutex12ReaderUnlockEv)  // Mutex::ReaderUnlock()

#define KSEF_TRYLOCK(sym)                     \
  bool KSEF_REAL(sym)(Mutex*);                \
  bool KSEF_WRAP(sym)(Mutex * mu) {           \
    const bool locked = KSEF_REAL(sym)(mu);   \
    if (locked) Acquired(mu);                 \
    return locked;                            \
  }
KSEF_TRYLOCK(_ZN4absl7debian35Mutex7TryLockEv)         // Mutex::TryLock()
KSEF_TRYLOCK(_ZN4absl7debian35Mutex13ReaderTryLockEv)  // Mutex::ReaderTryLock()

// LockWhen(cond): the lock is held on return.
#define KSEF_LOCK_WHEN(sym)                                    \
  void KSEF_REAL(sym)(Mutex*, const Condition&);               \
  void KSEF_WRAP(sym)(Mutex * mu, const Condition& cond) {     \
    HeldCondition held{mu, &cond};                             \
    KSEF_REAL(sym)(mu, Condition(&EvalHeld, &held));           \
    Acquired(mu);                                              \
  }
KSEF_LOCK_WHEN(_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE)         // LockWhen
KSEF_LOCK_WHEN(_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE)  // ReaderLockWhen

// LockWhenWithTimeout/Deadline: held on return whatever the result.
#define KSEF_LOCK_WHEN_BOUNDED(sym, T)                             \
  bool KSEF_REAL(sym)(Mutex*, const Condition&, T);                \
  bool KSEF_WRAP(sym)(Mutex * mu, const Condition& cond, T t) {    \
    HeldCondition held{mu, &cond};                                 \
    const bool met = KSEF_REAL(sym)(mu, Condition(&EvalHeld, &held), t); \
    Acquired(mu);                                                  \
    return met;                                                    \
  }
KSEF_LOCK_WHEN_BOUNDED(_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE,
                       Duration)
KSEF_LOCK_WHEN_BOUNDED(_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE,
                       Time)

// Await(cond): held before and after, released while waiting.
void __real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(Mutex*, const Condition&);
void __wrap__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(Mutex* mu, const Condition& cond) {
  Releasing(mu);
  HeldCondition held{mu, &cond};
  __real__ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(mu, Condition(&EvalHeld, &held));
  Acquired(mu);
}
#define KSEF_AWAIT_BOUNDED(sym, T)                                 \
  bool KSEF_REAL(sym)(Mutex*, const Condition&, T);                \
  bool KSEF_WRAP(sym)(Mutex * mu, const Condition& cond, T t) {    \
    Releasing(mu);                                                 \
    HeldCondition held{mu, &cond};                                 \
    const bool met = KSEF_REAL(sym)(mu, Condition(&EvalHeld, &held), t); \
    Acquired(mu);                                                  \
    return met;                                                    \
  }
KSEF_AWAIT_BOUNDED(_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE,
                   Duration)
KSEF_AWAIT_BOUNDED(_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE, Time)

// --- absl::CondVar: releases the mutex while waiting -------------------------
void __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(CondVar*, Mutex*);
void __wrap__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(CondVar* cv, Mutex* mu) {
  Releasing(mu);
  __real__ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(cv, mu);
  Acquired(mu);
}
#define KSEF_CV_WAIT_BOUNDED(sym, T)                            \
  bool KSEF_REAL(sym)(CondVar*, Mutex*, T);                     \
  bool KSEF_WRAP(sym)(CondVar * cv, Mutex * mu, T t) {          \
    Releasing(mu);                                              \
    const bool timed_out = KSEF_REAL(sym)(cv, mu, t);           \
    Acquired(mu);                                               \
    return timed_out;                                           \
  }
KSEF_CV_WAIT_BOUNDED(_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE,
                     Duration)
KSEF_CV_WAIT_BOUNDED(_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE, Time)

// --- absl::Notification ------------------------------------------------------
void __real__ZN4absl7debian312Notification6NotifyEv(Notification*);
void __wrap__ZN4absl7debian312Notification6NotifyEv(Notification* n) {
  Releasing(n);
  __real__ZN4absl7debian312Notification6NotifyEv(n);
}
void __real__ZNK4absl7debian312Notification19WaitForNotificationEv(const Notification*);
void __wrap__ZNK4absl7debian312Notification19WaitForNotificationEv(const Notification* n) {
  __real__ZNK4absl7debian312Notification19WaitForNotificationEv(n);
  Acquired(n);
}
#define KSEF_NOTIFICATION_BOUNDED(sym, T)               \
  bool KSEF_REAL(sym)(const Notification*, T);          \
  bool KSEF_WRAP(sym)(const Notification* n, T t) {     \
    const bool notified = KSEF_REAL(sym)(n, t);         \
    if (notified) Acquired(n);                          \
    return notified;                                    \
  }
KSEF_NOTIFICATION_BOUNDED(
    _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE, Duration)
KSEF_NOTIFICATION_BOUNDED(
    _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE, Time)
}  // extern "C"
