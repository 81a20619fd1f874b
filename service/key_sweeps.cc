// KeyManager, sweeps: destruction of keys whose grace period is over
// (DestroyDue) and the comparison of registry and token (Reconcile), which
// completes or drops interrupted creations and reports what does not match.
#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "service/key_manager.h"
#include "service/key_naming.h"

namespace ksef::service {

absl::Status KeyManager::FinishDestruction(KeyRecord record) {
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<RegistryLock> token_writes, LockTokenWrites());
  absl::Status s = store_->Destroy(record.cka_id);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  record.state = KeyState::kDestroyed;
  record.update_time = clock_();
  absl::Status stored = registry_->Update(record);
  // Another sweep finishing the same claim (after its lease) wrote it first.
  if (!stored.ok() && !absl::IsAborted(stored)) return stored;
  {
    absl::MutexLock lock(&claims_mu_);
    claims_.erase(record.key_id);
  }
  if (!stored.ok()) return absl::OkStatus();
  LogInfo("destroyed key ", record.name(), " (grace period over)");
  return absl::OkStatus();
}

absl::StatusOr<bool> KeyManager::ClaimForDestruction(KeyRecord& record, absl::Time now) {
  if (record.state != KeyState::kScheduledForDestruction || !record.destroy_time ||
      *record.destroy_time > now) {
    return false;
  }
  record.state = KeyState::kDestroying;
  record.update_time = clock_();
  absl::Status claimed = registry_->Update(record);  // compare-and-set
  if (absl::IsAborted(claimed) || absl::IsNotFound(claimed)) return false;  // a restore won
  KSEF_RETURN_IF_ERROR(claimed);
  absl::MutexLock lock(&claims_mu_);
  claims_.insert(record.key_id);
  return true;
}

bool KeyManager::ClaimedHere(const std::string& key_id) {
  absl::MutexLock lock(&claims_mu_);
  return claims_.contains(key_id);
}

absl::StatusOr<int> KeyManager::DestroyDue() {
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<RegistryLock> sweeping, registry_->TryLock(kLockSweeps));
  if (sweeping == nullptr) return 0;  // another replica is sweeping
  const absl::Time now = clock_();
  int destroyed = 0;
  // Claims a sweep left unfinished (its process died between claim and
  // tombstone), once their lease is over; then keys whose grace period is.
  for (KeyState state : {KeyState::kDestroying, KeyState::kScheduledForDestruction}) {
    KeyFilter filter;
    filter.state = state;
    std::string cursor;
    while (true) {
      KSEF_ASSIGN_OR_RETURN(auto rows, registry_->List(filter, cursor, 200, nullptr));
      for (KeyRecord& r : rows) {
        cursor = r.key_id;
        if (state == KeyState::kDestroying) {
          // Ours (a finish that failed, retried now), or one whose owner is gone.
          if (!ClaimedHere(r.key_id) && OwnerMayBeLive(r, /*at_startup=*/false)) continue;
        } else {
          absl::MutexLock lock(&mu_);
          KSEF_ASSIGN_OR_RETURN(bool claimed, ClaimForDestruction(r, now));
          if (!claimed) continue;
        }
        KSEF_RETURN_IF_ERROR(FinishDestruction(std::move(r)));
        ++destroyed;
      }
      if (rows.size() < 200) break;
    }
  }
  return destroyed;
}

bool KeyManager::OwnerMayBeLive(const KeyRecord& row, bool at_startup) const {
  if (at_startup && !registry_shared_) return false;  // this process is its only writer
  return clock_() - row.update_time < kCreatingLease;
}

bool KeyManager::IsReserved(const std::string& cka_id) const {
  return std::find(reserved_.begin(), reserved_.end(), cka_id) != reserved_.end();
}

bool KeyManager::CreationRunning(const std::string& cka_id) {
  absl::MutexLock lock(&creating_mu_);
  return creating_.contains(cka_id);
}

absl::StatusOr<ConsistencyReport> KeyManager::Reconcile() {
  // One replica at a time: the others would only repeat its work (and its
  // warnings); what each row may become is decided by compare-and-set.
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<RegistryLock> sweeping,
                        registry_->Lock(kLockSweeps, kSweepLockWait));
  absl::MutexLock lock(&mu_);
  KSEF_ASSIGN_OR_RETURN(pkcs11::TokenInventory inventory, store_->Inventory());
  return ReconcileLocked(/*at_startup=*/false, inventory);
}

absl::StatusOr<ConsistencyReport> KeyManager::ReconcileAtStartup(
    const pkcs11::TokenInventory& inventory) {
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<RegistryLock> sweeping,
                        registry_->Lock(kLockSweeps, kSweepLockWait));
  absl::MutexLock lock(&mu_);
  return ReconcileLocked(/*at_startup=*/true, inventory);
}

absl::Status KeyManager::ReconcileCreating(KeyRecord& r, const pkcs11::TokenKey* on_token,
                                           bool has_certificate, bool at_startup,
                                           absl::flat_hash_set<std::string>& interrupted) {
  if (CreationRunning(r.cka_id)) return absl::OkStatus();  // a live Create owns it
  // Another replica's Create may own it: left to it until its lease is over.
  if (OwnerMayBeLive(r, at_startup)) return absl::OkStatus();
  if (on_token == nullptr || on_token->public_key_der.empty()) {  // nothing, or half a key
    LogWarning("dropping key ", r.name(), ": its creation did not finish");
    interrupted.insert(r.cka_id);
    return registry_->Delete(r.key_id);
  }
  r.attestation = on_token->attestation;
  r.public_key_der = on_token->public_key_der;
  r.pkcs11_uri = on_token->uri;
  r.state = KeyState::kPendingCertificate;
  // An import interrupted after its certificate was stored.
  if (has_certificate) {
    auto cert = store_->GetCertificate(r.cka_id);
    if (absl::IsUnavailable(cert.status())) return cert.status();
    if (cert.ok()) {
      r.certificate_der = *cert;
      r.state = KeyState::kActive;
    }
  }
  r.update_time = clock_();
  absl::Status completed = registry_->Update(r);
  if (absl::IsAborted(completed)) return absl::OkStatus();  // its owner finished it after all
  KSEF_RETURN_IF_ERROR(completed);
  LogInfo("completed creation of key ", r.name(), " interrupted by a restart");
  return absl::OkStatus();
}

namespace {
// Left by one of `interrupted` (the service never makes an object without CKA_ID).
bool IsDebris(const pkcs11::IncompleteObject& o,
              const absl::flat_hash_set<std::string>& interrupted) {
  return !interrupted.empty() && (o.id.empty() || interrupted.contains(o.id));
}
}  // namespace

absl::StatusOr<int> KeyManager::RemoveDebris(const absl::flat_hash_set<std::string>& interrupted) {
  if (interrupted.empty()) return 0;
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<RegistryLock> token_writes, LockTokenWrites());
  KSEF_ASSIGN_OR_RETURN(int removed, store_->DestroyIncomplete([&](const pkcs11::IncompleteObject& o) {
    return IsDebris(o, interrupted);
  }));
  if (removed > 0) {
    LogWarning("removed ", removed, " incomplete token object(s) left by ", interrupted.size(),
               " interrupted key creation(s)");
  }
  return removed;
}

absl::StatusOr<ConsistencyReport> KeyManager::ReconcileLocked(
    bool at_startup, const pkcs11::TokenInventory& inventory) {
  absl::flat_hash_map<std::string, const pkcs11::TokenKey*> on_token;
  for (const auto& k : inventory.keys) {
    if (!k.id.empty() && !k.label.empty()) on_token[k.id] = &k;  // else: incomplete
  }

  ConsistencyReport report;
  KeyFilter all;
  std::string cursor;
  absl::flat_hash_map<std::string, bool> known;
  absl::flat_hash_set<std::string> interrupted;
  while (true) {
    KSEF_ASSIGN_OR_RETURN(auto rows, registry_->List(all, cursor, 500, nullptr));
    for (auto& r : rows) {
      cursor = r.key_id;
      known[r.cka_id] = true;
      auto it = on_token.find(r.cka_id);
      if (r.state == KeyState::kCreating) {
        KSEF_RETURN_IF_ERROR(ReconcileCreating(r, it == on_token.end() ? nullptr : it->second,
                                               inventory.certificate_ids.contains(r.cka_id),
                                               at_startup, interrupted));
        continue;
      }
      ++report.checked_keys;
      if (it == on_token.end()) report.missing_keys.push_back(r.name());
    }
    if (rows.size() < 500) break;
  }
  if (at_startup) KSEF_RETURN_IF_ERROR(RemoveDebris(interrupted).status());
  // The inventory is from before RemoveDebris: what it removed is not reported.
  for (const pkcs11::IncompleteObject& o : inventory.incomplete) {
    if (at_startup && IsDebris(o, interrupted)) continue;
    report.incomplete_token_objects.push_back(o.Describe());
  }
  for (const auto& [id, key] : on_token) {
    if (IsReserved(id)) continue;
    if (!known.contains(id)) report.unknown_token_keys.push_back(key->uri);
    if (absl::StartsWith(key->label, kInternalKeyPrefix)) {
      report.foreign_internal_label_keys.push_back(key->uri);
    }
  }
  for (const auto& uri : report.unknown_token_keys) {
    LogWarning("consistency: private key on the token unknown to the registry: ", uri);
  }
  for (const auto& uri : report.foreign_internal_label_keys) {
    LogWarning("consistency: private key with a label reserved for the service's own keys ('",
               kInternalKeyPrefix, "...') that is not one of them (the service does not use it; "
               "remove it unless you know what it is): ", uri);
  }
  for (const auto& name : report.missing_keys) {
    LogWarning("consistency: key ", name, " is in the registry but missing on the token");
  }
  for (const auto& line : report.incomplete_token_objects) {
    LogWarning("consistency: incomplete key object on the token: ", line);
  }
  return report;
}

}  // namespace ksef::service
