// KeyRegistry: durable service-side state of keys (subject, purpose, state,
// timestamps) in SQLite, beside the token that holds the key material.
//
// The database runs in WAL mode with synchronous=FULL, so a write that
// returned is durable. Destroyed keys stay as tombstones (state DESTROYED)
// so a key id is never reused. Thread-safe (one connection behind a mutex).
#ifndef KSEF_SERVICE_KEY_REGISTRY_H_
#define KSEF_SERVICE_KEY_REGISTRY_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/sqlite.h"
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

class KeyRegistry {
 public:
  // Creates the file (mode 0600) and schema if needed, and adds tables and
  // columns that older registries lack. INTERNAL/UNAVAILABLE with the path
  // when the database cannot be opened.
  static absl::StatusOr<std::unique_ptr<KeyRegistry>> Open(const std::string& path);
  ~KeyRegistry();

  // ALREADY_EXISTS if key_id (or cka_id) is taken, even by a destroyed key.
  absl::Status Insert(const KeyRecord& record);
  // Replaces the row with record.key_id. NOT_FOUND if absent.
  absl::Status Update(const KeyRecord& record);
  // Removes the row (only for rows that never got key material).
  absl::Status Delete(const std::string& key_id);

  absl::StatusOr<KeyRecord> Get(const std::string& key_id);  // NOT_FOUND
  absl::StatusOr<KeyRecord> GetByCkaId(const std::string& cka_id);

  // Internal keys (the audit key): the CKA_ID the service recorded for a
  // role, so that it never has to find its own objects by a label a caller
  // could also choose. They are kept apart from the keys table: no key name,
  // List or GetByCkaId reaches them. (Registries from before this table get
  // it on Open; it starts empty.)
  // NOT_FOUND if nothing is recorded for `role`.
  absl::StatusOr<std::string> GetInternalKey(const std::string& role);
  // ALREADY_EXISTS if `role` is recorded (a record is never replaced) or the
  // CKA_ID belongs to another role.
  absl::Status RecordInternalKey(const std::string& role, const std::string& cka_id);

  // Rows matching `filter`, ordered by key_id, starting after `after_key_id`,
  // at most `limit`. `total` (if not null) gets the number of matching rows.
  absl::StatusOr<std::vector<KeyRecord>> List(const KeyFilter& filter,
                                              const std::string& after_key_id, int limit,
                                              int* total);

 private:
  explicit KeyRegistry(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_KEY_REGISTRY_H_
