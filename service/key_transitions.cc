// KeyManager, state transitions: moving an existing key between states
// (disable, enable, schedule for destruction, restore, attach a
// certificate, change its usage limit). Which move is allowed, and the
// refusal's wording, is lifecycle/'s table (lifecycle::Next); this file adds
// what goes with a move (destroy_time, the certificate object) and stores it
// through Transition (load, check, stamp, store under the key lock).
// Creation (key_creation.cc) and destruction (key_sweeps.cc) move keys
// into and out of the registry. Every write is a compare-and-set on the
// row's version (KeyRegistry::Update), so replicas sharing the registry
// cannot overwrite each other's changes: the later one is ABORTED.
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "service/key_manager.h"

namespace ksef::service {

using lifecycle::Operation;

lifecycle::KeyFacts KeyManager::FactsOf(const KeyRecord& record) const {
  lifecycle::KeyFacts facts;
  facts.name = record.name();
  facts.has_certificate = !record.certificate_der.empty();
  facts.destroy_time = record.destroy_time;
  facts.now = clock_();
  return facts;
}

absl::StatusOr<KeyRecord> KeyManager::Transition(
    absl::string_view name, Operation op, const std::function<absl::Status(KeyRecord&)>& stamp) {
  KSEF_ASSIGN_OR_RETURN(std::string key_id, ResolveKeyId(name));
  absl::MutexLock lock(&mu_);
  // The stored row, not the effective state: a key a sweep claimed
  // (DESTROYING) must be refused, not written back as scheduled.
  KSEF_ASSIGN_OR_RETURN(KeyRecord stored, GetStored(key_id));
  KSEF_ASSIGN_OR_RETURN(KeyState next, lifecycle::Next(stored.state, op, FactsOf(stored)));
  std::unique_ptr<RegistryLock> token_writes;
  if (op == Operation::kImportCertificate) {
    KSEF_ASSIGN_OR_RETURN(token_writes, LockTokenWrites());
  }
  KSEF_RETURN_IF_ERROR(stamp(stored));
  stored.state = next;
  stored.update_time = clock_();
  // Compare-and-set on the version read above: another replica's change in
  // between makes this ABORTED, and the caller decides again.
  KSEF_RETURN_IF_ERROR(registry_->Update(stored));
  stored.state = EffectiveState(stored);
  return stored;
}

namespace {
absl::Status NothingElse(KeyRecord&) { return absl::OkStatus(); }
}  // namespace

absl::StatusOr<KeyRecord> KeyManager::Disable(absl::string_view name) {
  return Transition(name, Operation::kDisable, NothingElse);
}

absl::StatusOr<KeyRecord> KeyManager::SetUsageLimit(absl::string_view name, int64_t limit) {
  if (limit < 0) return absl::InvalidArgumentError("usage_limit must be 0 (no limit) or positive");
  return Transition(name, Operation::kSetUsageLimit, [this, limit](KeyRecord& r) {
    // Uses of a key without a limit are not counted (no reservation is
    // taken): a key getting one is counted afresh from the audit log. Reset
    // before the limit is stored, so no replica reserves against a stale count.
    if (r.usage_limit == 0 && limit > 0) KSEF_RETURN_IF_ERROR(registry_->ResetUsage(r.key_id));
    r.usage_limit = limit;
    return absl::OkStatus();
  });
}

absl::StatusOr<KeyRecord> KeyManager::Enable(absl::string_view name) {
  return Transition(name, Operation::kEnable, NothingElse);
}

absl::StatusOr<KeyRecord> KeyManager::ScheduleDestruction(absl::string_view name) {
  absl::Time when = clock_() + grace_period_;
  return Transition(name, Operation::kScheduleDestruction, [when](KeyRecord& r) {
    r.destroy_time = when;
    return absl::OkStatus();
  });
}

absl::StatusOr<KeyRecord> KeyManager::Restore(absl::string_view name) {
  return Transition(name, Operation::kRestore, [](KeyRecord& r) {
    r.destroy_time.reset();
    return absl::OkStatus();
  });
}

absl::StatusOr<KeyRecord> KeyManager::AttachCertificate(
    absl::string_view name, const std::string& certificate_der,
    const std::function<absl::Status(const KeyRecord&)>& check) {
  return Transition(name, Operation::kImportCertificate, [&](KeyRecord& r) -> absl::Status {
    KSEF_RETURN_IF_ERROR(check(r));
    KSEF_RETURN_IF_ERROR(store_->StoreCertificate(r.cka_id, certificate_der, r.key_id));
    r.certificate_der = certificate_der;
    LogInfo("certificate stored for key ", r.name(), "; key is ACTIVE");
    return absl::OkStatus();
  });
}

}  // namespace ksef::service
