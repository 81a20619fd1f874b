#include "service/audit_key.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace ksef::service {
namespace {

// How long a starting replica waits for another one making the audit key.
constexpr absl::Duration kAuditKeyLockWait = absl::Minutes(1);

// The recorded audit key, checked: a missing or wrong object is a token
// fault the operator must see, not a reason to start a new chain of trust.
absl::StatusOr<pkcs11::TokenKey> OpenRecordedAuditKey(pkcs11::KeyStore& store,
                                                   const pkcs11::TokenInventory& inventory,
                                                   const std::string& cka_id) {
  const pkcs11::TokenKey* listed = inventory.FindKey(cka_id);
  auto key = listed != nullptr ? absl::StatusOr<pkcs11::TokenKey>(*listed) : store.Get(cka_id);
  if (absl::IsNotFound(key.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the audit key recorded in the key registry (CKA_ID ", HexUpper(cka_id),
        ") is not on token '", store.token_label(),
        "': use the token this registry was made with (token_label/token_serial) or restore it "
        "from its backup; if the audit key is lost for good, see docs/operations.md "
        "(\"Audit key lost\")"));
  }
  if (!key.ok()) return key.status();
  if (key->algorithm != crypto::KeyAlgorithm::kEcP256) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the object recorded as the audit key (CKA_ID ", HexUpper(cka_id),
        ") is not an EC P-256 key; the token or the key registry was altered"));
  }
  return key;
}

// Labelled EC P-256 keys that no registry key owns: the audit key of a
// registry from before internal_keys (a caller's key may carry the label too,
// but it is in the registry).
absl::StatusOr<std::vector<pkcs11::TokenKey>> AdoptionCandidates(
    const pkcs11::TokenInventory& inventory, KeyRegistry& registry) {
  std::vector<pkcs11::TokenKey> out;
  for (const pkcs11::TokenKey& k : inventory.keys) {
    if (k.label != kAuditKeyLabel || k.algorithm != crypto::KeyAlgorithm::kEcP256) continue;
    auto owner = registry.GetByCkaId(k.id);
    if (owner.ok()) continue;
    if (!absl::IsNotFound(owner.status())) return owner.status();
    out.push_back(k);
  }
  return out;
}

// Adopts the one unrecorded labelled key (a registry from before the
// record) or generates a new one, and records its CKA_ID. Called under the
// audit key lock.
absl::StatusOr<pkcs11::TokenKey> AdoptOrGenerate(pkcs11::KeyStore& store, KeyRegistry& registry,
                                                 const pkcs11::TokenInventory& inventory) {
  KSEF_ASSIGN_OR_RETURN(std::vector<pkcs11::TokenKey> candidates,
                        AdoptionCandidates(inventory, registry));
  pkcs11::TokenKey key;
  if (candidates.size() == 1) {
    key = std::move(candidates[0]);
    LogInfo("adopted the existing audit key '", kAuditKeyLabel, "' (CKA_ID ", HexUpper(key.id),
            ") and recorded its CKA_ID in the key registry");
  } else {
    if (candidates.size() > 1) {
      LogWarning(candidates.size(), " keys on the token are labelled '", kAuditKeyLabel,
                 "' and none is recorded: adopting none of them (check-consistency lists them)");
    }
    // A fresh random CKA_ID: never one a caller's key could already have.
    std::unique_ptr<RegistryLock> token_writes;
    if (store.serializes_object_writes()) {  // beside other replicas' key creation
      KSEF_ASSIGN_OR_RETURN(token_writes, registry.Lock(kLockKeyCreation, kAuditKeyLockWait));
    }
    KSEF_ASSIGN_OR_RETURN(key, store.Generate(crypto::KeyAlgorithm::kEcP256, kAuditKeyLabel,
                                              pkcs11::KeyStore::NewId()));
    LogInfo("generated the audit key '", kAuditKeyLabel, "' (CKA_ID ", HexUpper(key.id),
            ") on the token");
  }
  KSEF_RETURN_IF_ERROR(registry.RecordInternalKey(kAuditKeyRole, key.id));
  return key;
}

}  // namespace

absl::StatusOr<pkcs11::TokenKey> OpenAuditKey(pkcs11::KeyStore& store, KeyRegistry& registry,
                                              const pkcs11::TokenInventory& inventory) {
  auto recorded = registry.GetInternalKey(kAuditKeyRole);
  if (recorded.ok()) return OpenRecordedAuditKey(store, inventory, *recorded);
  if (!absl::IsNotFound(recorded.status())) return recorded.status();
  // Replicas starting together on a fresh token: one makes the key, the
  // others wait here and then find it recorded.
  auto lock = registry.Lock(kLockAuditKey, kAuditKeyLockWait);
  if (!lock.ok()) {
    return absl::Status(lock.status().code(),
                        absl::StrCat("cannot take the audit key lock in the ", registry.Describe(),
                                     ": ", lock.status().message()));
  }
  recorded = registry.GetInternalKey(kAuditKeyRole);
  if (recorded.ok()) return OpenRecordedAuditKey(store, inventory, *recorded);
  if (!absl::IsNotFound(recorded.status())) return recorded.status();
  return AdoptOrGenerate(store, registry, inventory);
}

absl::StatusOr<audit::CheckpointSigner> AuditCheckpointSigner(pkcs11::KeyStore& store,
                                                              const pkcs11::TokenKey& key) {
  KSEF_ASSIGN_OR_RETURN(std::shared_ptr<crypto::Signer> signer, store.GetSigner(key.id));
  audit::CheckpointSigner out;
  out.public_key_der = key.public_key_der;
  out.sign = [signer](const std::string& digest) {
    return signer->SignDigest(crypto::SignatureScheme::kEcdsaSha256, digest);
  };
  return out;
}

}  // namespace ksef::service
