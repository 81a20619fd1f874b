#include "service/usage_limiter.h"

#include "absl/strings/str_cat.h"

namespace ksef::service {
namespace {

constexpr const char* kSigningOperations[] = {"GenerateCsr", "IssueSelfSignedCertificate",
                                              "SignAuthToken", "SignOfflineInvoice",
                                              "SignOfflineInvoices"};

}  // namespace

bool IsSigningOperation(const std::string& operation) {
  for (const char* op : kSigningOperations) {
    if (operation == op) return true;
  }
  return false;
}

absl::Status UsageLimiter::Reserve(const KeyRecord& key) {
  if (key.usage_limit <= 0) return absl::OkStatus();
  const std::string name = key.name();
  absl::MutexLock lock(&mu_);
  auto it = counts_.find(name);
  if (it == counts_.end()) {
    // First use since start: count what the audit log holds. The store is
    // read under the lock so concurrent first uses count once.
    auto usage = store_->Usage(name, std::nullopt, std::nullopt);
    if (!usage.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot read the usage count of ", name, " from the audit store: ",
          usage.status().message()));
    }
    Count c;
    for (const audit::UsageCount& u : *usage) {
      if (IsSigningOperation(u.operation)) c.used += u.count;
    }
    it = counts_.emplace(name, c).first;
  }
  Count& c = it->second;
  if (c.used + c.in_flight >= key.usage_limit) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key ", name, " has reached its usage limit (", c.used, " of ", key.usage_limit,
        " signatures); raise it with set-usage-limit or enroll a new key"));
  }
  ++c.in_flight;
  return absl::OkStatus();
}

void UsageLimiter::Release(const std::string& key_name, bool used) {
  absl::MutexLock lock(&mu_);
  auto it = counts_.find(key_name);
  if (it == counts_.end() || it->second.in_flight == 0) return;
  --it->second.in_flight;
  if (used) ++it->second.used;
}

}  // namespace ksef::service
