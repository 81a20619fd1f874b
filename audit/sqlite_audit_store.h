// SqliteAuditStore: the embedded audit store, one SQLite file in WAL mode
// with synchronous=FULL (a kDurable batch survives a crash or power loss; a
// kCommitted one commits at NORMAL and is flushed by the next kDurable write
// or WAL checkpoint).
// Thread-safe (one writing connection, serialized).
#ifndef KSEF_AUDIT_SQLITE_AUDIT_STORE_H_
#define KSEF_AUDIT_SQLITE_AUDIT_STORE_H_

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "audit/audit_store.h"
#include "common/sqlite.h"

namespace ksef::audit {

class SqliteAuditStore final : public AuditStore {
 public:
  // Opens or creates the store. `read_only` for offline verification of a
  // copy (nothing is written, not even the schema).
  static absl::StatusOr<std::unique_ptr<SqliteAuditStore>> Open(const std::string& path,
                                                                bool read_only = false);

  absl::StatusOr<ChainHead> Head(const std::string& node) override;
  absl::Status Append(const std::vector<AuditEvent>& events, Durability durability) override;
  absl::Status AddCheckpoint(const Checkpoint& checkpoint) override;
  absl::StatusOr<std::vector<Checkpoint>> Checkpoints(const std::string& node) override;
  absl::StatusOr<std::vector<std::string>> Nodes() override;
  absl::StatusOr<std::vector<AuditEvent>> ReadChain(const std::string& node, int64_t after_seq,
                                                    int limit) override;
  absl::StatusOr<AuditPage> Query(const AuditQuery& query) override;
  absl::Status AcquireNodeLease(
      const std::string& node, const std::string& holder, absl::Time now, absl::Time expires,
      const std::function<bool(const std::string&)>& holder_is_dead) override;
  absl::Status ReleaseNodeLease(const std::string& node, const std::string& holder) override;
  absl::StatusOr<std::vector<UsageCount>> Usage(const std::string& key_name,
                                                std::optional<absl::Time> since,
                                                std::optional<absl::Time> until) override;

  // The writing connection's PRAGMA synchronous now (2 FULL, 1 NORMAL): what
  // the last write used (for tests and diagnostics).
  absl::StatusOr<int> SynchronousLevel();

 private:
  SqliteAuditStore(std::unique_ptr<SqliteDb> db, const char* columns,
                   const char* checkpoint_columns)
      : columns_(columns), checkpoint_columns_(checkpoint_columns), db_(std::move(db)) {}
  const char* const columns_;             // what SELECTs read (older copies lack peer, count)
  const char* const checkpoint_columns_;  // older copies lack the checkpoint chain
  // Every write starts here: sets the connection's synchronous level for
  // `durability` (FULL for kDurable, NORMAL for kCommitted) when it is not
  // that already, so a run of batches of one kind sets it once.
  absl::Status ForWrite(Durability durability) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  bool synchronous_full_ ABSL_GUARDED_BY(mu_) = true;  // SqliteDb::Open sets FULL
};

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_SQLITE_AUDIT_STORE_H_
