// KeyRegistry: durable service-side state of keys (subject, purpose, state,
// timestamps, usage counts) beside the token that holds the key material.
// Two stores implement it (key_registry_factory.h):
//   * SQLite (sqlite_key_registry.h): the embedded default, one file, one
//     host (WAL mode, synchronous=FULL: a write that returned is durable);
//   * PostgreSQL (postgres_key_registry.h): shared by every replica of a
//     cluster, so a key created, disabled or scheduled through one replica
//     is seen by all of them on their next call.
//
// Destroyed keys stay as tombstones (state DESTROYED) so a key id is never
// reused.
//
// Concurrency between replicas (design.md section 6b, docs/architecture.md):
//   * Every row has a version. Update is compare-and-set: it writes only if
//     the stored version is the one the record was read with, so of two
//     writers that read the same row one wins and the other gets ABORTED
//     (read again, decide again; never a blind retry).
//   * Usage limits are counted here: a use is reserved before signing
//     (ReserveUse: one atomic conditional increment, so N replicas together
//     never pass the limit) and settled after the audit event (SettleUse).
//   * Cluster-wide jobs and rare critical sections (the audit key's creation,
//     key generation on modules that need it serialized) take a named lock
//     (Lock / TryLock): an advisory lock in PostgreSQL, a file lock beside
//     the SQLite file.
//
// All methods are thread-safe. UNAVAILABLE (naming the store and what to
// check, never a password) when the store cannot be reached or written.
#ifndef KSEF_SERVICE_KEY_REGISTRY_H_
#define KSEF_SERVICE_KEY_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/key_model.h"

namespace ksef::service {

struct KeyFilter {
  std::optional<SubjectType> subject_type;
  std::optional<std::string> subject_value;
  std::optional<KeyPurpose> purpose;
  std::optional<KeyState> state;  // stored state; kExpired is resolved by the caller
  bool include_destroyed = false;
  // Not stored: resolved by KeyManager::List from the certificate. Only
  // ACTIVE keys whose certificate's notAfter is before this time.
  std::optional<absl::Time> certificate_expires_before;
};

// A key's usage under its limit, as the registry counts it.
struct KeyUsage {
  int64_t used = 0;      // signatures made and audited (settled)
  int64_t reserved = 0;  // uses taken by signatures in flight, all replicas
  int64_t limit = 0;     // KeyRecord::usage_limit; 0 = no limit
};

// Held while a named lock is taken; released when destroyed (or when the
// process or its store connection dies).
class RegistryLock {
 public:
  virtual ~RegistryLock() = default;
};

class KeyRegistry {
 public:
  virtual ~KeyRegistry() = default;

  // "SQLite key registry /var/lib/ksef-hsm/keys.db", "PostgreSQL key
  // registry (host=... dbname=...)": for messages; never a password.
  virtual std::string Describe() const = 0;

  // Inserts a new row with version 1 (record.version is ignored and set to
  // 1 on success). ALREADY_EXISTS if key_id (or cka_id) is taken, even by a
  // destroyed key.
  virtual absl::Status Insert(KeyRecord& record) = 0;
  // Compare-and-set: replaces every column of the row record.key_id except
  // the usage counts (used, reserved) if its stored version equals
  // record.version, and increments the version (record.version too, on
  // success). ABORTED ("key keys/x was changed by another request at the
  // same time; read it again and retry") when the stored version differs;
  // NOT_FOUND if the row is absent.
  virtual absl::Status Update(KeyRecord& record) = 0;
  // Removes the row (only for rows that never got key material: CREATING).
  virtual absl::Status Delete(const std::string& key_id) = 0;

  virtual absl::StatusOr<KeyRecord> Get(const std::string& key_id) = 0;  // NOT_FOUND
  virtual absl::StatusOr<KeyRecord> GetByCkaId(const std::string& cka_id) = 0;

  // Rows matching `filter`, ordered by key_id, starting after `after_key_id`,
  // at most `limit`. `total` (if not null) gets the number of matching rows.
  virtual absl::StatusOr<std::vector<KeyRecord>> List(const KeyFilter& filter,
                                                      const std::string& after_key_id, int limit,
                                                      int* total) = 0;

  // Internal keys (the audit key): the CKA_ID the service recorded for a
  // role, so that it never has to find its own objects by a label a caller
  // could also choose. Kept apart from the keys table: no key name, List or
  // GetByCkaId reaches them. NOT_FOUND if nothing is recorded for `role`.
  virtual absl::StatusOr<std::string> GetInternalKey(const std::string& role) = 0;
  // ALREADY_EXISTS if `role` is recorded (a record is never replaced) or the
  // CKA_ID belongs to another role.
  virtual absl::Status RecordInternalKey(const std::string& role, const std::string& cka_id) = 0;

  // --- usage limits (only for keys with usage_limit > 0) ---
  // Takes one use of `key_id` for a signature `node` is about to make, in
  // one atomic step: reserved + 1 only while used + reserved < limit.
  // Returns the usage after the reservation. FAILED_PRECONDITION when the
  // limit is reached (the KeyUsage is in the message: "... (500 of 500
  // signatures) ..."), NOT_FOUND for an unknown key, FAILED_PRECONDITION
  // "usage not counted yet" when the key's count has not been initialised
  // (InitUsage).
  virtual absl::StatusOr<KeyUsage> ReserveUse(const std::string& key_id,
                                              const std::string& node) = 0;
  // Ends a reservation of `node`: reserved - 1, and used + 1 when `used`
  // (the signature was made and its audit event written). Nothing happens
  // if `node` holds no reservation of the key.
  virtual absl::Status SettleUse(const std::string& key_id, const std::string& node,
                                 bool used) = 0;
  // The reservations `node` left behind (a crash): each is counted as used
  // (the signature may have been delivered; a limit is never overshot) and
  // dropped. Call at start-up, once the node's lease is held. Returns how
  // many uses were settled so.
  virtual absl::StatusOr<int64_t> SettleAbandonedUses(const std::string& node) = 0;
  // The usage of a key; `counted` is false while its used count has not
  // been initialised (a key from a registry older than the count).
  virtual absl::StatusOr<KeyUsage> Usage(const std::string& key_id, bool* counted) = 0;
  // Sets the used count of a key whose count is not initialised yet (from
  // the audit log, by the caller); does nothing if it is (another replica
  // did it first).
  virtual absl::Status InitUsage(const std::string& key_id, int64_t used) = 0;

  // Forgets the used count of a key (it is counted again, InitUsage, on its
  // next use): for a key getting a limit after it had none, whose uses were
  // not counted meanwhile. Call while the key has no limit.
  virtual absl::Status ResetUsage(const std::string& key_id) = 0;

  // --- named locks, cluster-wide ---
  // Blocks until `name` is free (or `timeout` passes: DEADLINE_EXCEEDED).
  virtual absl::StatusOr<std::unique_ptr<RegistryLock>> Lock(absl::string_view name,
                                                             absl::Duration timeout) = 0;
  // Takes `name` if it is free; nullptr if someone else holds it.
  virtual absl::StatusOr<std::unique_ptr<RegistryLock>> TryLock(absl::string_view name) = 0;
};

// Named locks the service takes (one place, so two uses cannot collide).
inline constexpr char kLockAuditKey[] = "audit-key";    // the audit key's creation
inline constexpr char kLockKeyCreation[] = "key-creation";  // token object creation
inline constexpr char kLockSweeps[] = "sweeps";          // destruction sweep, reconcile

}  // namespace ksef::service

#endif  // KSEF_SERVICE_KEY_REGISTRY_H_
