// PostgreSQL advisory locks, keyed (class, id) as pg_advisory_lock(int4, int4)
// takes them. Each store picks its own class or ids so that two uses cannot
// collide (audit store: class 0x6b736566 "ksef", ids 1 and 2; key registry:
// id 10 for its schema, class kNamedLockClass for named locks).
//   * transaction-level (XactLockSql): held until COMMIT/ROLLBACK;
//   * session-level (AdvisoryLock, TryAdvisoryLock, AdvisoryUnlock): held
//     until unlocked or until the session ends (so a crashed holder frees it).
// The helpers take a Connection the caller serializes.
#ifndef KSEF_PG_ADVISORY_LOCK_H_
#define KSEF_PG_ADVISORY_LOCK_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "pg/connection.h"

namespace ksef::pg {

inline constexpr int32_t kKsefLockClass = 0x6b736566;   // "ksef"
inline constexpr int32_t kNamedLockClass = 0x6b736e6c;  // "ksnl": LockIdOfName ids

struct AdvisoryLockKey {
  int32_t lock_class;
  int32_t id;
};

// A stable id for a lock name (32-bit FNV-1a): the same on every replica,
// whatever the server version.
AdvisoryLockKey NamedLockKey(absl::string_view name);

// "SELECT pg_advisory_xact_lock(<class>, <id>)", for a transaction's body.
std::string XactLockSql(AdvisoryLockKey key);

// Waits for the lock at most `timeout` (absl::InfiniteDuration(): no limit);
// DEADLINE_EXCEEDED naming `what` when it is still held by another session.
absl::Status AdvisoryLock(Connection& conn, AdvisoryLockKey key, absl::Duration timeout,
                          absl::string_view what);
// True if taken, false if another session holds it.
absl::StatusOr<bool> TryAdvisoryLock(Connection& conn, AdvisoryLockKey key);
absl::Status AdvisoryUnlock(Connection& conn, AdvisoryLockKey key);

}  // namespace ksef::pg

#endif  // KSEF_PG_ADVISORY_LOCK_H_
