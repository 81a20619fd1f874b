// KeyManager, creation: Create (a key generated in the token) and ImportKey
// (bring-your-own), both built by NewRecord and recorded CREATING before the
// token is touched, so an interrupted creation is completed or dropped by
// Reconcile (key_sweeps.cc).
#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "service/key_manager.h"
#include "service/key_naming.h"

namespace ksef::service {
namespace {
// How long a key creation waits for another replica's token writes.
constexpr absl::Duration kTokenWriteLockWait = absl::Seconds(30);
}  // namespace

class KeyManager::RunningCreation {
 public:
  RunningCreation(KeyManager* keys, std::string cka_id) : keys_(keys), cka_id_(std::move(cka_id)) {
    absl::MutexLock lock(&keys_->creating_mu_);
    keys_->creating_.insert(cka_id_);
  }
  ~RunningCreation() {
    absl::MutexLock lock(&keys_->creating_mu_);
    keys_->creating_.erase(cka_id_);
  }
  RunningCreation(const RunningCreation&) = delete;
  RunningCreation& operator=(const RunningCreation&) = delete;

 private:
  KeyManager* const keys_;
  const std::string cka_id_;
};

absl::StatusOr<std::unique_ptr<RegistryLock>> KeyManager::LockTokenWrites() {
  if (!store_->serializes_object_writes()) return nullptr;
  auto lock = registry_->Lock(kLockKeyCreation, kTokenWriteLockWait);
  if (absl::IsDeadlineExceeded(lock.status())) {
    return absl::UnavailableError(
        "another replica has been writing to the token for too long; try again later");
  }
  return lock;
}

absl::StatusOr<KeyRecord> KeyManager::NewRecord(SubjectType subject_type,
                                                std::string subject_value,
                                                const std::string& key_id,
                                                KeyPurpose purpose) {
  KeyRecord record;
  record.subject_type = subject_type;
  record.subject_value = std::move(subject_value);
  KSEF_RETURN_IF_ERROR(NormalizeSubject(record.subject_type, record.subject_value));
  KSEF_RETURN_IF_ERROR(CheckNewKeyId(key_id));
  record.key_id = key_id.empty() ? GenerateKeyId(purpose) : key_id;
  record.cka_id = pkcs11::KeyStore::NewId();
  record.purpose = purpose;
  record.state = KeyState::kCreating;
  record.create_time = record.update_time = clock_();
  record.pkcs11_uri = store_->UriFor(record.cka_id, record.key_id);
  return record;
}

absl::StatusOr<KeyRecord> KeyManager::Create(const CreateKeyParams& params) {
  KSEF_ASSIGN_OR_RETURN(KeyRecord record, NewRecord(params.subject_type, params.subject_value,
                                                   params.key_id, params.purpose));
  if (params.usage_limit < 0) {
    return absl::InvalidArgumentError("usage_limit must be 0 (no limit) or positive");
  }
  record.usage_limit = params.usage_limit;
  record.algorithm = params.algorithm;
  RunningCreation running(this, record.cka_id);
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<RegistryLock> token_writes, LockTokenWrites());
  // Record intent first: a crash after generation leaves a row that
  // Reconcile() can complete, never an unknown key on the token.
  KSEF_RETURN_IF_ERROR(registry_->Insert(record));
  auto key = store_->Generate(record.algorithm, record.key_id, record.cka_id);
  if (!key.ok()) {
    absl::Status cleanup = registry_->Delete(record.key_id);
    if (!cleanup.ok()) LogWarning("cannot drop registry row of failed key: ", cleanup.message());
    return key.status();
  }
  record.attestation = key->attestation;
  record.public_key_der = key->public_key_der;
  record.pkcs11_uri = key->uri;
  record.state = KeyState::kPendingCertificate;
  record.update_time = clock_();
  absl::Status stored = registry_->Update(record);
  if (!stored.ok()) {
    // No orphan: without its registry row the key must not stay on the token.
    absl::Status destroyed = store_->Destroy(record.cka_id);
    if (!destroyed.ok()) {
      LogError("key ", record.name(), " could not be recorded nor destroyed: ",
               destroyed.message(), "; check-consistency will report it");
    }
    return stored;
  }
  LogInfo("created key ", record.name(), " (", crypto::KeyAlgorithmName(record.algorithm), ")");
  return record;
}

absl::StatusOr<KeyRecord> KeyManager::ImportKey(const ImportKeyParams& params,
                                                const EVP_PKEY* key,
                                                const std::string& certificate_der) {
  KSEF_ASSIGN_OR_RETURN(KeyRecord record, NewRecord(params.subject_type, params.subject_value,
                                                   params.key_id, params.purpose));
  record.algorithm =
      EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? crypto::KeyAlgorithm::kRsa2048
                                                : crypto::KeyAlgorithm::kEcP256;
  RunningCreation running(this, record.cka_id);
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<RegistryLock> token_writes, LockTokenWrites());
  KSEF_RETURN_IF_ERROR(registry_->Insert(record));
  auto undo = [&](const absl::Status& why) {
    absl::Status destroyed = store_->Destroy(record.cka_id);
    if (!destroyed.ok() && !absl::IsNotFound(destroyed)) {
      LogError("imported key ", record.name(), " could not be removed after a failure: ",
               destroyed.message(), "; check-consistency will report it");
    }
    absl::Status dropped = registry_->Delete(record.key_id);
    if (!dropped.ok()) LogWarning("cannot drop registry row of failed import: ", dropped.message());
    return why;
  };
  auto imported = store_->ImportPrivateKey(key, record.key_id, record.cka_id);
  if (!imported.ok()) return undo(imported.status());
  absl::Status stored = store_->StoreCertificate(record.cka_id, certificate_der, record.key_id);
  if (!stored.ok()) return undo(stored);
  record.algorithm = imported->algorithm;
  record.attestation = imported->attestation;
  record.public_key_der = imported->public_key_der;
  record.pkcs11_uri = imported->uri;
  record.certificate_der = certificate_der;
  record.state = KeyState::kActive;
  record.update_time = clock_();
  absl::Status updated = registry_->Update(record);
  if (!updated.ok()) return undo(updated);
  LogInfo("imported key ", record.name(), " (", crypto::KeyAlgorithmName(record.algorithm),
          ", bring-your-own, CKA_LOCAL=false) with its certificate; key is ACTIVE");
  record.state = EffectiveState(record);
  return record;
}

}  // namespace ksef::service
