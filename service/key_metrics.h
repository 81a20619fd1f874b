// KeyMetricsSource: the per-key gauges of the metrics endpoint
// (metrics::KeysSnapshot): for every key that has a certificate or a usage
// limit and is not scheduled for destruction (or destroyed), the certificate's notAfter and the
// signatures left under the limit, labelled by key_id.
//
// Bounded: at most kMaxKeyMetrics keys (the soonest-expiring first, then
// those with only a limit, by key id); the rest are counted as omitted. Key
// ids are the only text that leaves: 1-63 of [a-z0-9-] (key_naming.h), a
// key id that does not pass ValidKeyId is left out. No subject, NIP, serial
// or PKCS#11 URI is shown. The registry is read at most once per
// `refresh` (scrapes in between get the last snapshot), so scrapers cannot
// make the server query its store faster than that.
// Thread-safe.
#ifndef KSEF_SERVICE_KEY_METRICS_H_
#define KSEF_SERVICE_KEY_METRICS_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "metrics/metrics.h"

namespace ksef::service {

class CertificateCache;
class KeyRegistry;

// Keys with per-key gauges at most (two series each).
inline constexpr int kMaxKeyMetrics = 500;

class KeyMetricsSource {
 public:
  // Both must outlive the source.
  KeyMetricsSource(KeyRegistry* registry, CertificateCache* certificates,
                   absl::Duration refresh = absl::Seconds(5))
      : registry_(registry), certificates_(certificates), refresh_(refresh) {}

  // The gauges as of at most `refresh` ago. A registry that cannot be read
  // keeps the last snapshot (logged).
  metrics::KeysSnapshot Snapshot();

 private:
  absl::StatusOr<metrics::KeysSnapshot> Read();

  KeyRegistry* const registry_;
  CertificateCache* const certificates_;
  const absl::Duration refresh_;
  absl::Mutex mu_;
  metrics::KeysSnapshot last_ ABSL_GUARDED_BY(mu_);
  absl::Time read_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_KEY_METRICS_H_
