// SqliteKeyRegistry: the embedded KeyRegistry (key_registry.h), one SQLite
// file on one host (WAL, synchronous=FULL: a write that returned is
// durable). Several processes on the host may open the same file: every
// write is one statement or one BEGIN IMMEDIATE transaction, so the version
// compare-and-set and the usage reservations hold between them as between
// threads.
//
// Schema: PRAGMA user_version counts the migrations applied; Open applies the
// missing ones in order, each in its own transaction, so a file from an older
// version (without usage_limit, internal_keys, version or the usage counts)
// opens and is brought up to date. Keys of an older file get used = NULL
// (not counted: KeyRegistry::Usage says so until InitUsage). A file from a
// newer version is refused (FAILED_PRECONDITION).
//
// Named locks: flock(2) on "<path>.lock.<name>" (created 0600), so they
// exclude other threads and processes alike; released when the RegistryLock
// is destroyed or the process dies. INVALID_ARGUMENT for a name that is not
// letters, digits, '-', '_', '.'.
//
// Thread-safe: one connection per instance, serialized by a mutex.
#ifndef KSEF_SERVICE_SQLITE_KEY_REGISTRY_H_
#define KSEF_SERVICE_SQLITE_KEY_REGISTRY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/sqlite.h"
#include "service/key_registry.h"

namespace ksef::service {

namespace internal {
struct UsageRow;
}  // namespace internal

class SqliteKeyRegistry final : public KeyRegistry {
 public:
  // Opens (creating if needed) the registry file at `path` and migrates it.
  static absl::StatusOr<std::unique_ptr<SqliteKeyRegistry>> Open(const std::string& path);

  std::string Describe() const override;
  absl::Status Insert(KeyRecord& record) override;
  absl::Status Update(KeyRecord& record) override;
  absl::Status Delete(const std::string& key_id) override;
  absl::StatusOr<KeyRecord> Get(const std::string& key_id) override;
  absl::StatusOr<KeyRecord> GetByCkaId(const std::string& cka_id) override;
  absl::StatusOr<std::vector<KeyRecord>> List(const KeyFilter& filter,
                                              const std::string& after_key_id, int limit,
                                              int* total) override;
  absl::StatusOr<std::string> GetInternalKey(const std::string& role) override;
  absl::Status RecordInternalKey(const std::string& role, const std::string& cka_id) override;
  absl::StatusOr<KeyUsage> ReserveUse(const std::string& key_id, const std::string& node) override;
  absl::Status SettleUse(const std::string& key_id, const std::string& node, bool used) override;
  absl::StatusOr<int64_t> SettleAbandonedUses(const std::string& node) override;
  absl::StatusOr<KeyUsage> Usage(const std::string& key_id, bool* counted) override;
  absl::Status InitUsage(const std::string& key_id, int64_t used) override;
  absl::Status ResetUsage(const std::string& key_id) override;
  absl::StatusOr<std::unique_ptr<RegistryLock>> Lock(absl::string_view name,
                                                     absl::Duration timeout) override;
  absl::StatusOr<std::unique_ptr<RegistryLock>> TryLock(absl::string_view name) override;

 private:
  SqliteKeyRegistry(std::unique_ptr<SqliteDb> db, std::string path)
      : db_(std::move(db)), path_(std::move(path)) {}

  // BEGIN IMMEDIATE (waits for other writers: the busy timeout); body;
  // COMMIT, or ROLLBACK when body fails.
  absl::Status Transaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The key's usage columns; nullopt if there is no such key.
  absl::StatusOr<std::optional<internal::UsageRow>> ReadUsage(const std::string& key_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<bool> Exists(const std::string& key_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<KeyRecord> GetWhere(const char* column, const std::string& value, bool blob);
  // Opens and locks the lock file of `name`: with LOCK_NB once (`wait` 0),
  // polling until `wait` passes, or blocking (InfiniteDuration).
  absl::StatusOr<std::unique_ptr<RegistryLock>> LockFile(absl::string_view name,
                                                         absl::Duration wait);

  absl::Mutex mu_;
  const std::unique_ptr<SqliteDb> db_ ABSL_PT_GUARDED_BY(mu_);
  const std::string path_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_SQLITE_KEY_REGISTRY_H_
