// KeyManager: the key lifecycle (design.md section 3) over the token's key
// store and the durable key registry. No gRPC types; KeyServiceImpl adapts it.
//
// Consistency with the token: a key is first recorded as CREATING with its
// CKA_ID, then generated, then marked PENDING_CERTIFICATE. Reconcile() (run at
// start-up) completes or drops rows left in CREATING by a crash and reports
// token keys the registry does not know and registry keys missing on the
// token. Destruction removes the token objects first, then writes the
// tombstone, so a crash in between is finished by the next sweep.
//
// Thread-safe; state transitions of one key are serialized.
#ifndef KSEF_SERVICE_KEY_MANAGER_H_
#define KSEF_SERVICE_KEY_MANAGER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hsm/key_store.h"
#include "service/key_registry.h"

namespace ksef::service {

struct CreateKeyParams {
  std::string key_id;  // optional
  SubjectType subject_type = SubjectType::kNip;
  std::string subject_value;
  KeyPurpose purpose = KeyPurpose::kAuthentication;
  hsm::KeyAlgorithm algorithm = hsm::KeyAlgorithm::kEcP256;
};

struct ConsistencyReport {
  std::vector<std::string> unknown_token_keys;  // PKCS#11 URIs
  std::vector<std::string> missing_keys;        // key names
  int checked_keys = 0;
};

class KeyManager {
 public:
  using Clock = std::function<absl::Time()>;

  KeyManager(hsm::KeyStore* store, KeyRegistry* registry, absl::Duration grace_period,
             Clock clock = absl::Now);

  // INVALID_ARGUMENT (names the field), ALREADY_EXISTS, UNAVAILABLE.
  absl::StatusOr<KeyRecord> Create(const CreateKeyParams& params);
  // `name`: "keys/{id}" or an RFC 7512 URI of the key. INVALID_ARGUMENT for a
  // malformed name, NOT_FOUND for unknown or destroyed keys. The returned
  // state is effective (EXPIRED when the certificate has expired).
  absl::StatusOr<KeyRecord> Get(absl::string_view name);
  absl::StatusOr<std::vector<KeyRecord>> List(const KeyFilter& filter,
                                              const std::string& page_token, int page_size,
                                              std::string* next_page_token, int* total);
  absl::StatusOr<KeyRecord> Disable(absl::string_view name);
  absl::StatusOr<KeyRecord> Enable(absl::string_view name);
  absl::StatusOr<KeyRecord> ScheduleDestruction(absl::string_view name);
  absl::StatusOr<KeyRecord> Restore(absl::string_view name);

  // Destroys every key whose grace period is over. Returns how many.
  absl::StatusOr<int> DestroyDue();
  absl::StatusOr<ConsistencyReport> Reconcile();

  absl::Duration grace_period() const { return grace_period_; }

 private:
  // Resolves a name to its record's key_id.
  absl::StatusOr<std::string> ResolveKeyId(absl::string_view name);
  // Loads, applies `change` (which may refuse), stamps update_time, stores.
  absl::StatusOr<KeyRecord> Transition(absl::string_view name,
                                       const std::function<absl::Status(KeyRecord&)>& change);
  KeyState EffectiveState(const KeyRecord& record) const;
  absl::Status FinishDestruction(KeyRecord record);

  hsm::KeyStore* const store_;
  KeyRegistry* const registry_;
  const absl::Duration grace_period_;
  const Clock clock_;
  absl::Mutex mu_;  // serializes read-modify-write of registry rows
};

// "keys/abc" -> "abc"; INVALID_ARGUMENT naming the expected form.
absl::StatusOr<std::string> KeyIdFromName(absl::string_view name);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_KEY_MANAGER_H_
