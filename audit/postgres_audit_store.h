// PostgresAuditStore: the shared audit store for several server replicas, in
// one PostgreSQL database over libpq. Each replica appends to its own chain
// (node, seq); a batch is one transaction, durable when Append returns
// (synchronous_commit is set to on for the session). Store-wide ids
// (BIGSERIAL) become visible in id order, so paging by after_id never skips
// an event another replica committed late.
//
// Errors: UNAVAILABLE when the server cannot be reached or cannot write
// (the message names the store and what to check, never the password);
// ALREADY_EXISTS when a (node, seq) is taken; INVALID_ARGUMENT for a
// malformed conninfo. A broken connection (server restart, network) is
// re-established on the next call, and a call that failed on it before
// anything could have been committed is retried once.
// Privileges: Open creates the tables when they are missing (CREATE on the
// schema); on existing tables the role needs only SELECT and INSERT on
// audit_events and audit_checkpoints, UPDATE on audit_checkpoints (a
// checkpoint of the same seq replaces the older one), SELECT, INSERT, UPDATE
// and DELETE on audit_node_leases, and USAGE on the sequence
// audit_events_id_seq.
// Thread-safe: one connection, serialized by a mutex.
#ifndef KSEF_AUDIT_POSTGRES_AUDIT_STORE_H_
#define KSEF_AUDIT_POSTGRES_AUDIT_STORE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "audit/audit_store.h"
#include "pg/connection.h"

namespace ksef::audit {

class PostgresAuditStore final : public AuditStore {
 public:
  // Connects with a libpq conninfo ("host=... port=... dbname=... user=..."
  // or a postgresql:// URI) and creates the schema if it is missing.
  static absl::StatusOr<std::unique_ptr<PostgresAuditStore>> Open(const std::string& conninfo);

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

  // "host=... port=... dbname=... user=..." (never the password), for messages.
  const std::string& description() const { return description_; }

 private:
  explicit PostgresAuditStore(std::unique_ptr<pg::Connection> conn)
      : conn_(std::move(conn)), description_(conn_->description()) {}

  // pg::Connection::Run on the store's connection.
  absl::Status Run(const std::function<absl::Status(bool* retry_safe)>& op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Creates the tables if they are missing, then runs the migrations.
  absl::Status MakeSchema() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `migration` unless `table` already has `column`; a role that may
  // not ALTER gets an error naming the migration in docs/operations.md.
  absl::Status Migrate(const char* table, const char* column, const char* migration,
                       const char* what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Executes one statement; OK results (tuples or command) go to `*out`.
  absl::Status Exec(const std::string& sql, const pg::Params* params, const char* what,
                    pg::PgResultPtr* out = nullptr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return conn_->Exec(sql, params, what, out);
  }

  absl::Mutex mu_;
  const std::unique_ptr<pg::Connection> conn_ ABSL_PT_GUARDED_BY(mu_);
  const std::string description_;
};

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_POSTGRES_AUDIT_STORE_H_
