#include "service/usage_limiter.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace ksef::service {
namespace {

constexpr const char* kSigningOperations[] = {"GenerateCsr", "IssueSelfSignedCertificate",
                                              "SignAuthToken", "SignOfflineInvoice",
                                              "SignOfflineInvoices"};

absl::Status CannotCount(const KeyRecord& key, const absl::Status& why) {
  if (!absl::IsUnavailable(why) && !absl::IsInternal(why)) return why;
  return absl::UnavailableError(absl::StrCat("cannot count the uses of ", key.name(),
                                             " under its usage limit: ", why.message()));
}

}  // namespace

bool IsSigningOperation(const std::string& operation) {
  for (const char* op : kSigningOperations) {
    if (operation == op) return true;
  }
  return false;
}

absl::Status UsageLimiter::EnsureCounted(const KeyRecord& key) {
  absl::MutexLock lock(&mu_);
  if (counted_.contains(key.key_id)) return absl::OkStatus();
  bool counted = false;
  KSEF_RETURN_IF_ERROR(registry_->Usage(key.key_id, &counted).status());
  if (!counted) {
    // A key from before the registry counted uses: what the audit log holds.
    auto usage = audit_->Usage(key.name(), std::nullopt, std::nullopt);
    if (!usage.ok()) {
      return absl::UnavailableError(absl::StrCat("cannot read the usage count of ", key.name(),
                                                 " from the audit store: ",
                                                 usage.status().message()));
    }
    int64_t used = 0;
    for (const audit::UsageCount& u : *usage) {
      if (IsSigningOperation(u.operation)) used += u.count;
    }
    KSEF_RETURN_IF_ERROR(registry_->InitUsage(key.key_id, used));
  }
  counted_.insert(key.key_id);
  return absl::OkStatus();
}

bool UsageLimiter::Forgotten(const KeyRecord& key) {
  bool counted = true;
  if (!registry_->Usage(key.key_id, &counted).ok() || counted) return false;
  absl::MutexLock lock(&mu_);
  counted_.erase(key.key_id);
  return true;
}

absl::Status UsageLimiter::LimitReached(const KeyRecord& key) {
  bool counted = false;
  auto usage = registry_->Usage(key.key_id, &counted);
  const int64_t used = usage.ok() ? usage->used : 0;
  const int64_t limit = usage.ok() ? usage->limit : key.usage_limit;
  return absl::FailedPreconditionError(absl::StrCat(
      "key ", key.name(), " has reached its usage limit (", used, " of ", limit,
      " signatures); raise it with set-usage-limit or enroll a new key"));
}

absl::Status UsageLimiter::Reserve(const KeyRecord& key) {
  if (key.usage_limit <= 0) return absl::OkStatus();
  absl::Status counted = EnsureCounted(key);
  if (!counted.ok()) return CannotCount(key, counted);
  auto reserved = registry_->ReserveUse(key.key_id, node_);
  if (absl::IsFailedPrecondition(reserved.status()) && Forgotten(key)) {
    // The count was reset (a limit set anew, ResetUsage) since this process
    // counted the key: count again, once.
    counted = EnsureCounted(key);
    if (!counted.ok()) return CannotCount(key, counted);
    reserved = registry_->ReserveUse(key.key_id, node_);
  }
  if (absl::IsFailedPrecondition(reserved.status())) return LimitReached(key);
  if (!reserved.ok()) return CannotCount(key, reserved.status());
  return absl::OkStatus();
}

void UsageLimiter::Release(const std::string& key_id, bool used) {
  absl::Status s = registry_->SettleUse(key_id, node_, used);
  if (!s.ok()) {
    LogError("cannot settle a use of keys/", key_id, " in the key registry (", s.message(),
             "); it stays reserved and counts as used from this node's next start");
  }
}

absl::StatusOr<int64_t> UsageLimiter::SettleAbandoned() {
  KSEF_ASSIGN_OR_RETURN(int64_t settled, registry_->SettleAbandonedUses(node_));
  if (settled > 0) {
    LogWarning(settled, " signature(s) reserved by this node before it stopped were counted as "
               "used (they may have been delivered; a usage limit is never overshot)");
  }
  return settled;
}

}  // namespace ksef::service
