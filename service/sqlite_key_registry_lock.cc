// SqliteKeyRegistry's named locks: flock(2) on a file beside the registry.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "service/internal/key_registry_rows.h"
#include "service/sqlite_key_registry.h"

namespace ksef::service {
namespace {

// Polling interval of a Lock with a finite timeout (flock has no timeout).
constexpr absl::Duration kPoll = absl::Milliseconds(5);

// flock locks belong to the open file description: this object's own open()
// excludes every other one, in this process or another.
class FileLock final : public RegistryLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  const int fd_;
};

absl::Status LockError(const std::string& file, const char* what) {
  return absl::UnavailableError(absl::StrCat("SQLite key registry: cannot ", what, " lock file ",
                                             file, ": ", std::strerror(errno),
                                             " (check the state directory's permissions)"));
}

// LOCK_EX on fd: once (wait 0), polling until `wait` passes, or blocking.
// True if taken.
absl::StatusOr<bool> Flock(int fd, absl::Duration wait, const std::string& file) {
  if (wait == absl::InfiniteDuration()) {
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return LockError(file, "lock");
    }
    return true;
  }
  const absl::Time deadline = absl::Now() + wait;
  while (true) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno != EWOULDBLOCK && errno != EINTR) return LockError(file, "lock");
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(std::min(kPoll, deadline - absl::Now()));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<RegistryLock>> SqliteKeyRegistry::LockFile(absl::string_view name,
                                                                          absl::Duration wait) {
  KSEF_RETURN_IF_ERROR(internal::CheckLockName(name));
  const std::string file = absl::StrCat(path_, ".lock.", name);
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return LockError(file, "open");
  absl::StatusOr<bool> taken = Flock(fd, wait, file);
  if (!taken.ok() || !*taken) {
    ::close(fd);
    if (!taken.ok()) return taken.status();
    return std::unique_ptr<RegistryLock>();
  }
  return std::unique_ptr<RegistryLock>(new FileLock(fd));
}

absl::StatusOr<std::unique_ptr<RegistryLock>> SqliteKeyRegistry::Lock(absl::string_view name,
                                                                      absl::Duration timeout) {
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<RegistryLock> lock,
                        LockFile(name, std::max(timeout, absl::ZeroDuration())));
  if (lock == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat(
        Describe(), ": lock \"", name, "\" is still held (by another request or process) after ",
        absl::FormatDuration(timeout), "; retry later"));
  }
  return lock;
}

absl::StatusOr<std::unique_ptr<RegistryLock>> SqliteKeyRegistry::TryLock(absl::string_view name) {
  return LockFile(name, absl::ZeroDuration());
}

}  // namespace ksef::service
