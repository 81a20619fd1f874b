#include "service/key_metrics.h"

#include <algorithm>
#include <tuple>

#include "common/log.h"
#include "common/status_macros.h"
#include "service/certificate_cache.h"
#include "service/key_naming.h"
#include "service/key_registry.h"

namespace ksef::service {
namespace {

constexpr int kPage = 500;

struct Candidate {
  std::string key_id;
  std::optional<absl::Time> not_after;
  int64_t limit = 0;
};

// Soonest-expiring certificates first; keys with only a limit after them.
bool Before(const Candidate& a, const Candidate& b) {
  const absl::Time a_end = a.not_after.value_or(absl::InfiniteFuture());
  const absl::Time b_end = b.not_after.value_or(absl::InfiniteFuture());
  return std::tie(a_end, a.key_id) < std::tie(b_end, b.key_id);
}

// Keys on their way out (being destroyed) would only raise expiry alerts
// nobody needs to act on.
bool Shown(KeyState state) {
  return state != KeyState::kScheduledForDestruction && state != KeyState::kDestroying &&
         state != KeyState::kDestroyed;
}

}  // namespace

metrics::KeysSnapshot KeyMetricsSource::Snapshot() {
  absl::MutexLock lock(&mu_);
  if (absl::Now() - read_at_ < refresh_) return last_;
  auto read = Read();
  read_at_ = absl::Now();
  if (read.ok()) {
    last_ = *std::move(read);
  } else {
    LogWarning("metrics: cannot read the key registry for the per-key gauges: ",
               read.status().message(), "; showing the last values read");
  }
  return last_;
}

absl::StatusOr<metrics::KeysSnapshot> KeyMetricsSource::Read() {
  std::vector<Candidate> candidates;
  std::string cursor;
  while (true) {
    KSEF_ASSIGN_OR_RETURN(std::vector<KeyRecord> rows,
                          registry_->List(KeyFilter(), cursor, kPage, nullptr));
    for (const KeyRecord& key : rows) {
      cursor = key.key_id;
      if (!ValidKeyId(key.key_id)) continue;  // never a label that breaks the bound
      if (!Shown(key.state)) continue;
      Candidate c{key.key_id, std::nullopt, key.usage_limit};
      if (!key.certificate_der.empty()) {
        auto certificate = certificates_->Get(key.certificate_der);
        if (certificate.ok()) c.not_after = (*certificate)->info.not_after;
      }
      if (c.not_after || c.limit > 0) candidates.push_back(std::move(c));
    }
    if (static_cast<int>(rows.size()) < kPage) break;
  }
  std::sort(candidates.begin(), candidates.end(), Before);
  metrics::KeysSnapshot snapshot;
  if (candidates.size() > static_cast<size_t>(kMaxKeyMetrics)) {
    snapshot.omitted = static_cast<int64_t>(candidates.size()) - kMaxKeyMetrics;
    candidates.resize(kMaxKeyMetrics);
  }
  for (Candidate& c : candidates) {
    metrics::KeyGauges gauges{std::move(c.key_id), c.not_after, std::nullopt};
    if (c.limit > 0) {
      bool counted = false;
      KSEF_ASSIGN_OR_RETURN(KeyUsage usage, registry_->Usage(gauges.key_id, &counted));
      // A count not initialised yet (a key from an older registry) is not shown.
      if (counted) {
        gauges.signatures_remaining = std::max<int64_t>(0, c.limit - usage.used - usage.reserved);
      }
    }
    snapshot.keys.push_back(std::move(gauges));
  }
  return snapshot;
}

}  // namespace ksef::service
