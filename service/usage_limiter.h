// Per-key usage limits (KeyRecord::usage_limit): a key with a limit may make
// that many successful signatures in all, then signing is refused with
// FAILED_PRECONDITION. The count lives in the key registry (KeyRegistry::
// ReserveUse / SettleUse), so replicas sharing a registry share it exactly:
// a use is reserved there before the signature is made (an atomic
// conditional increment: used + reserved never passes the limit, whichever
// replica asks) and settled once the call's audit event is written.
//
// Keys from a registry older than the count are counted once from the audit
// store (their SUCCESS events of the signing operations) on their first use.
// Reservations a crashed process left are counted as used at its next start
// (SettleAbandoned): a limit may then end a few signatures early, never late.
// Thread-safe.
#ifndef KSEF_SERVICE_USAGE_LIMITER_H_
#define KSEF_SERVICE_USAGE_LIMITER_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "audit/audit_store.h"
#include "service/key_model.h"
#include "service/key_registry.h"

namespace ksef::service {

// RPC names whose successful events count as uses of a key.
bool IsSigningOperation(const std::string& operation);

class UsageLimiter {
 public:
  // `node`: this replica's node id (the owner of its reservations). Both
  // stores must outlive the limiter.
  UsageLimiter(KeyRegistry* registry, audit::AuditStore* audit, std::string node)
      : registry_(registry), audit_(audit), node_(std::move(node)) {}

  // Takes one use of `key` for a signature about to be made. OK (and nothing
  // to settle) for keys without a limit. FAILED_PRECONDITION when used +
  // reserved reach the limit; UNAVAILABLE when the registry cannot count.
  absl::Status Reserve(const KeyRecord& key);
  // Ends a reservation of the key `key_id`: `used` counts it, otherwise it
  // is given back. A registry that cannot write keeps it reserved (logged):
  // it is counted as used at this node's next start.
  void Release(const std::string& key_id, bool used);
  // At start-up, once this node's lease is held: the reservations its
  // previous run left are counted as used. Returns how many.
  absl::StatusOr<int64_t> SettleAbandoned();

 private:
  // Makes sure the registry counts `key` (a key from before the count gets
  // its count from the audit store once).
  absl::Status EnsureCounted(const KeyRecord& key);
  // True (and the key no longer taken as counted) when the registry's count
  // of `key` was reset since this process counted it.
  bool Forgotten(const KeyRecord& key);
  absl::Status LimitReached(const KeyRecord& key);

  KeyRegistry* const registry_;
  audit::AuditStore* const audit_;
  const std::string node_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> counted_ ABSL_GUARDED_BY(mu_);  // key ids
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_USAGE_LIMITER_H_
