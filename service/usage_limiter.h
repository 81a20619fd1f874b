// Per-key usage limits (KeyRecord::usage_limit): a key with a limit may make
// that many successful signatures in all, then signing is refused with
// FAILED_PRECONDITION. The count of a key is read once from the audit store
// (its SUCCESS events of the signing operations) and then kept in memory;
// replicas sharing one audit store each see the others' uses only at their
// next start, so with several replicas a limit can be overshot by at most the
// uses the others made since then. Thread-safe.
#ifndef KSEF_SERVICE_USAGE_LIMITER_H_
#define KSEF_SERVICE_USAGE_LIMITER_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "audit/audit_store.h"
#include "service/key_model.h"

namespace ksef::service {

// RPC names whose successful events count as uses of a key.
bool IsSigningOperation(const std::string& operation);

class UsageLimiter {
 public:
  explicit UsageLimiter(audit::AuditStore* store) : store_(store) {}

  // Takes one use of `key` for a signature about to be made. OK (and nothing
  // to release) for keys without a limit. FAILED_PRECONDITION when used +
  // in-flight uses reach the limit.
  absl::Status Reserve(const KeyRecord& key);
  // Ends a reservation: `used` counts it, otherwise it is given back.
  void Release(const std::string& key_name, bool used);

 private:
  struct Count {
    int64_t used = 0;
    int64_t in_flight = 0;
  };
  audit::AuditStore* const store_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Count> counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_USAGE_LIMITER_H_
