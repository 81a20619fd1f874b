// PostgresKeyRegistry: the KeyRegistry (key_registry.h) shared by every
// replica of a cluster, in one PostgreSQL database over libpq (pg/). A key
// created, disabled or scheduled through one replica is seen by all on their
// next call; versions, usage reservations and named locks are what make the
// replicas' concurrent writes safe (key_registry.h).
//
// Schema: tables keys, internal_keys, usage_reservations and
// ksef_registry_schema (the version of the schema, one row). Open creates or
// migrates them in one transaction under the advisory lock (class
// 0x6b736566, id 10), so replicas that start together do it once; when the
// schema is at this build's version Open only reads the version row, so the
// service's role needs no CREATE. A schema of a newer version is refused
// (FAILED_PRECONDITION).
//
// Least-privilege role (the tables made by an administrator, or by a first
// start as their owner):
//   GRANT SELECT, INSERT, UPDATE, DELETE ON keys, internal_keys,
//         usage_reservations TO ksef;
//   GRANT SELECT ON ksef_registry_schema TO ksef;
// Named locks (Lock / TryLock) are session advisory locks (class
// pg::kNamedLockClass, id from the name), held on a connection of their own
// that the RegistryLock owns: released when it is destroyed, or by the
// server when the replica dies; they need no privilege.
//
// Errors: UNAVAILABLE naming "PostgreSQL key registry (host=... dbname=...)"
// and what to check, never the password; INVALID_ARGUMENT for a malformed
// conninfo. A broken connection is re-established on the next call, and a
// call that failed on it before anything could be committed is retried once.
// Thread-safe: calls take one of a few pooled connections (kPoolSize).
#ifndef KSEF_SERVICE_POSTGRES_KEY_REGISTRY_H_
#define KSEF_SERVICE_POSTGRES_KEY_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pg/pool.h"
#include "service/key_registry.h"

namespace ksef::service {

class PostgresKeyRegistry final : public KeyRegistry {
 public:
  static constexpr int kPoolSize = 4;

  // Connects with a libpq conninfo ("host=... port=... dbname=... user=..."
  // or a postgresql:// URI) and creates or migrates the schema if needed.
  static absl::StatusOr<std::unique_ptr<PostgresKeyRegistry>> Open(const std::string& conninfo);

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
  explicit PostgresKeyRegistry(std::unique_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  using Op = std::function<absl::Status(pg::Connection& conn, bool* retry_safe)>;
  absl::Status Run(const Op& op) { return pool_->Run(op); }
  // Run, with `body` in one transaction.
  absl::Status Write(const char* what, const std::function<absl::Status(pg::Connection&)>& body);
  absl::StatusOr<KeyRecord> GetWhere(const char* column, const std::string& value, bool bytea);

  const std::unique_ptr<pg::Pool> pool_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_POSTGRES_KEY_REGISTRY_H_
