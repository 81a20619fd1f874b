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
// Signing keys are handed out only by SigningGate (signing_gate.h), never
// by KeyManager. The implementation is split by concern: key_naming.cc,
// key_creation.cc, key_transitions.cc, key_lookup.cc, key_sweeps.cc.
//
// Thread-safe; state transitions of one key are serialized.
#ifndef KSEF_SERVICE_KEY_MANAGER_H_
#define KSEF_SERVICE_KEY_MANAGER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include <openssl/evp.h>
#include "pkcs11/key_store.h"
#include "service/certificate_cache.h"
#include "service/key_naming.h"
#include "service/key_registry.h"

namespace ksef::service {

struct CreateKeyParams {
  std::string key_id;  // optional
  SubjectType subject_type = SubjectType::kNip;
  std::string subject_value;
  KeyPurpose purpose = KeyPurpose::kAuthentication;
  crypto::KeyAlgorithm algorithm = crypto::KeyAlgorithm::kEcP256;
  int64_t usage_limit = 0;  // 0 = no limit
};

// ImportKey: the registry side of a bring-your-own key.
struct ImportKeyParams {
  std::string key_id;  // optional
  SubjectType subject_type = SubjectType::kNip;
  std::string subject_value;
  KeyPurpose purpose = KeyPurpose::kAuthentication;
};

struct ConsistencyReport {
  std::vector<std::string> unknown_token_keys;  // PKCS#11 URIs
  std::vector<std::string> missing_keys;        // key names
  // Private keys whose label starts with kInternalKeyPrefix but that are not
  // a reserved internal key (ReserveTokenKey): duplicates or foreign objects
  // (PKCS#11 URIs). Also in unknown_token_keys when the registry lacks them.
  std::vector<std::string> foreign_internal_label_keys;
  // Key objects that are not part of a complete key (pkcs11::IncompleteObject),
  // one line each; the start-up reconcile removes those an interrupted key
  // creation of this service left.
  std::vector<std::string> incomplete_token_objects;
  int checked_keys = 0;
};

class KeyManager {
 public:
  using Clock = std::function<absl::Time()>;

  // All must outlive the manager; `certificates` is the server's one cache.
  KeyManager(pkcs11::KeyStore* store, KeyRegistry* registry, CertificateCache* certificates,
             absl::Duration grace_period, Clock clock = absl::Now);

  // Call before serving when other processes share the registry (a
  // PostgreSQL registry): the start-up reconcile then leaves young CREATING
  // rows to the replica that may be creating them, as a running server's
  // reconcile always does.
  void ShareRegistry() { registry_shared_ = true; }

  // The server's one certificate cache (responses show parsed certificates).
  CertificateCache& certificates() const { return *certificates_; }

  // Token keys the service owns outside the registry (the audit key): never
  // reported by Reconcile, never reachable through a key name or a pkcs11:
  // URI with their id. Call before serving.
  void ReserveTokenKey(std::string cka_id) { reserved_.push_back(std::move(cka_id)); }

  // INVALID_ARGUMENT (names the field; also for a key_id with the reserved
  // kInternalKeyPrefix), ALREADY_EXISTS, UNAVAILABLE.
  absl::StatusOr<KeyRecord> Create(const CreateKeyParams& params);
  // `name`: "keys/{id}" or an RFC 7512 URI of the key. INVALID_ARGUMENT for a
  // malformed name, NOT_FOUND for unknown or destroyed keys. The returned
  // state is effective (EXPIRED when the certificate has expired).
  absl::StatusOr<KeyRecord> Get(absl::string_view name);
  absl::StatusOr<std::vector<KeyRecord>> List(const KeyFilter& filter,
                                              const std::string& page_token, int page_size,
                                              std::string* next_page_token, int* total);
  absl::StatusOr<KeyRecord> Disable(absl::string_view name);
  // INVALID_ARGUMENT for a negative limit; any non-destroyed key.
  absl::StatusOr<KeyRecord> SetUsageLimit(absl::string_view name, int64_t limit);
  absl::StatusOr<KeyRecord> Enable(absl::string_view name);
  absl::StatusOr<KeyRecord> ScheduleDestruction(absl::string_view name);
  absl::StatusOr<KeyRecord> Restore(absl::string_view name);

  // Stores `certificate_der` on the token beside the key and records it; the
  // key becomes ACTIVE. `check` runs first, under the key's lock, with the
  // current record; its error is returned as is and nothing changes. Only
  // PENDING_CERTIFICATE and ACTIVE (incl. EXPIRED: renewal of the same key)
  // keys accept a certificate; others get FAILED_PRECONDITION.
  // Crash order: token first, then registry. If the registry write is lost,
  // the key stays PENDING_CERTIFICATE and importing again replaces the
  // token's certificate object.
  absl::StatusOr<KeyRecord> AttachCertificate(
      absl::string_view name, const std::string& certificate_der,
      const std::function<absl::Status(const KeyRecord&)>& check);

  // Imports a private key that the caller has already matched with
  // `certificate_der`, and the certificate, as a new ACTIVE key. Same
  // crash-safety as Create: CREATING row, token objects, then ACTIVE; any
  // failure removes what was written (no orphan key on the token).
  // INVALID_ARGUMENT for a bad or reserved key_id, as Create.
  absl::StatusOr<KeyRecord> ImportKey(const ImportKeyParams& params, const EVP_PKEY* key,
                                      const std::string& certificate_der);

  // The subject's key for `purpose` to sign with now: ACTIVE, certificate
  // valid now; during a rotation, the one whose certificate is newest.
  // FAILED_PRECONDITION (saying what to do) when there is none.
  absl::StatusOr<KeyRecord> CurrentKeyFor(SubjectType type, const std::string& value,
                                          KeyPurpose purpose);

  // ACTIVE keys whose certificate expires before now + window, and EXPIRED
  // keys, soonest first.
  absl::StatusOr<std::vector<KeyRecord>> KeysExpiringWithin(absl::Duration window);

  // Destroys every key whose grace period is over. Returns how many. Each
  // key is first claimed (SCHEDULED_FOR_DESTRUCTION -> DESTROYING by
  // compare-and-set), so a restore that won is never undone and two
  // replicas never both destroy it; then its token objects are destroyed,
  // then it is DESTROYED. A claim whose process died is finished after
  // kCreatingLease. Runs on one replica at a time (the kLockSweeps lock; a
  // replica that finds it taken returns 0 at once).
  absl::StatusOr<int> DestroyDue();
  // Compares registry and token (check-consistency). Completes creations
  // that a restart interrupted after the key was made; drops the rows of
  // creations that made nothing, but never one a Create of this process is
  // running (nor, except at start-up, one younger than kCreatingLease: with
  // a shared registry another process may own it). Reports unknown, missing
  // and incomplete token objects; changes nothing on the token.
  absl::StatusOr<ConsistencyReport> Reconcile();
  // Reconcile() at start-up, before serving, against `inventory` (the
  // start-up pass over the token, KeyStore::Inventory, taken once for the
  // audit key and this): also removes the incomplete objects an interrupted
  // creation of this service left (those with the CKA_ID of a CREATING row,
  // and objects without any CKA_ID when such a creation exists; the service
  // never makes an object without CKA_ID).
  absl::StatusOr<ConsistencyReport> ReconcileAtStartup(const pkcs11::TokenInventory& inventory);

  // How old a CREATING or DESTROYING row must be before another process
  // (or, with a shared registry, any process) may take it over: its owner
  // is then presumed dead.
  static constexpr absl::Duration kCreatingLease = absl::Minutes(2);
  // How long Reconcile waits for another replica's sweep to finish.
  static constexpr absl::Duration kSweepLockWait = absl::Minutes(2);

 private:
  // A CREATING record for a new key (Create, ImportKey): subject checked and
  // normalized, key id checked or generated, a fresh CKA_ID.
  absl::StatusOr<KeyRecord> NewRecord(SubjectType subject_type, std::string subject_value,
                                      const std::string& key_id, KeyPurpose purpose);
  // The certificate's notAfter, if it parses.
  std::optional<absl::Time> NotAfter(const std::string& certificate_der) const;
  // The stored record (state as stored: DESTROYING is not shown as
  // scheduled); NOT_FOUND for CREATING and DESTROYED rows, as Get.
  absl::StatusOr<KeyRecord> GetStored(const std::string& key_id);
  // While token object writes must be serialized across the processes
  // sharing the token (KeyStore::serializes_object_writes), holds the
  // cluster-wide kLockKeyCreation; otherwise nothing (nullptr).
  // UNAVAILABLE when another replica holds it too long.
  absl::StatusOr<std::unique_ptr<RegistryLock>> LockTokenWrites();
  // SCHEDULED_FOR_DESTRUCTION and due -> DESTROYING, compare-and-set; false
  // when not due or a concurrent change (a restore) won.
  absl::StatusOr<bool> ClaimForDestruction(KeyRecord& record, absl::Time now);
  // Whether this process claimed `key_id` for destruction and has not
  // finished it (a failed finish is retried by its next sweep at once).
  bool ClaimedHere(const std::string& key_id);
  // Whether the process that wrote a CREATING or DESTROYING row may still be
  // working on it (see kCreatingLease).
  bool OwnerMayBeLive(const KeyRecord& row, bool at_startup) const;
  // Resolves a name to its record's key_id.
  absl::StatusOr<std::string> ResolveKeyId(absl::string_view name);
  // Loads, applies `change` (which may refuse), stamps update_time, stores.
  // Loads the key, asks lifecycle::Next whether `op` may move it (its
  // refusal is returned as is), runs `stamp` for what goes with the move
  // (destroy_time, the certificate; an error there changes nothing), then
  // stores the new state, all under the key lock.
  absl::StatusOr<KeyRecord> Transition(absl::string_view name, lifecycle::Operation op,
                                       const std::function<absl::Status(KeyRecord&)>& stamp);
  lifecycle::KeyFacts FactsOf(const KeyRecord& record) const;
  KeyState EffectiveState(const KeyRecord& record) const;
  bool IsReserved(const std::string& cka_id) const;
  absl::Status FinishDestruction(KeyRecord record);
  absl::StatusOr<ConsistencyReport> ReconcileLocked(bool at_startup,
                                                    const pkcs11::TokenInventory& inventory)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Completes or drops one CREATING row (see Reconcile); `interrupted`
  // collects the CKA_IDs of dropped creations. `has_certificate`: the token
  // holds a certificate with the row's CKA_ID (an interrupted import).
  absl::Status ReconcileCreating(KeyRecord& row, const pkcs11::TokenKey* on_token,
                                 bool has_certificate, bool at_startup,
                                 absl::flat_hash_set<std::string>& interrupted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<int> RemoveDebris(const absl::flat_hash_set<std::string>& interrupted);
  bool CreationRunning(const std::string& cka_id);
  // Marks a creation as running for its lifetime (Create, ImportKey).
  class RunningCreation;

  pkcs11::KeyStore* const store_;
  KeyRegistry* const registry_;
  CertificateCache* const certificates_;
  const absl::Duration grace_period_;
  const Clock clock_;
  bool registry_shared_ = false;  // see ShareRegistry
  absl::Mutex mu_;  // serializes read-modify-write of registry rows
  std::vector<std::string> reserved_;  // CKA_IDs, see ReserveTokenKey
  absl::Mutex creating_mu_;
  absl::flat_hash_set<std::string> creating_ ABSL_GUARDED_BY(creating_mu_);  // CKA_IDs
  absl::Mutex claims_mu_;
  absl::flat_hash_set<std::string> claims_ ABSL_GUARDED_BY(claims_mu_);  // key ids, see ClaimedHere
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_KEY_MANAGER_H_

