#include "pg/advisory_lock.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace ksef::pg {
namespace {

// lock_not_available: lock_timeout passed.
constexpr char kLockNotAvailable[] = "55P03";

std::string Call(const char* function, AdvisoryLockKey key) {
  return absl::StrCat("SELECT ", function, "(", key.lock_class, ", ", key.id, ")");
}

}  // namespace

AdvisoryLockKey NamedLockKey(absl::string_view name) {
  uint32_t h = 2166136261u;
  for (unsigned char c : name) {
    h ^= c;
    h *= 16777619u;
  }
  return AdvisoryLockKey{kNamedLockClass, static_cast<int32_t>(h)};
}

std::string XactLockSql(AdvisoryLockKey key) { return Call("pg_advisory_xact_lock", key); }

absl::Status AdvisoryLock(Connection& conn, AdvisoryLockKey key, absl::Duration timeout,
                          absl::string_view what) {
  // lock_timeout 0 means no limit; a positive timeout is at least 1 ms.
  const int64_t ms = timeout == absl::InfiniteDuration()
                         ? 0
                         : std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout));
  return conn.Run([&](bool*) -> absl::Status {
    Params p;
    KSEF_RETURN_IF_ERROR(conn.Exec(
        absl::StrCat("SELECT set_config('lock_timeout', ", p.Text(absl::StrCat(ms)), ", false)"),
        &p, "set the lock timeout"));
    absl::Status locked = conn.Exec(Call("pg_advisory_lock", key), nullptr, "take a lock");
    if (!locked.ok() && SqlState(locked) == kLockNotAvailable) {
      locked = absl::DeadlineExceededError(
          absl::StrCat(conn.Name(), ": ", what, " is still held by another replica after ",
                       absl::FormatDuration(timeout), "; retry later"));
    }
    absl::Status reset = conn.Exec("SET lock_timeout TO 0", nullptr, "reset the lock timeout");
    return locked.ok() ? reset : locked;
  });
}

absl::StatusOr<bool> TryAdvisoryLock(Connection& conn, AdvisoryLockKey key) {
  bool taken = false;
  KSEF_RETURN_IF_ERROR(conn.Run([&](bool*) -> absl::Status {
    PgResultPtr r;
    KSEF_RETURN_IF_ERROR(conn.Exec(Call("pg_try_advisory_lock", key), nullptr, "try a lock", &r));
    taken = PQntuples(r.get()) == 1 && Int(r.get(), 0, 0) != 0;
    return absl::OkStatus();
  }));
  return taken;
}

absl::Status AdvisoryUnlock(Connection& conn, AdvisoryLockKey key) {
  return conn.Exec(Call("pg_advisory_unlock", key), nullptr, "release a lock");
}

}  // namespace ksef::pg
