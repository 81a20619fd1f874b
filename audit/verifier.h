// Verifying an audit store: every node's hash chain and its signed
// checkpoints. Detects an edited event (its hash no longer matches), a
// deleted event (a gap in seq, or a broken prev_hash link), and a truncated
// tail (a checkpoint names an event that is gone). Events written after the
// last checkpoint are protected by the chain only: an attacker who removes
// them leaves no trace until the next checkpoint would have been written
// (checkpoint_interval bounds that window).
// Works on a live store or offline on a read-only copy. Thread-compatible.
#ifndef KSEF_AUDIT_VERIFIER_H_
#define KSEF_AUDIT_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/audit_store.h"

namespace ksef::audit {

struct NodeReport {
  std::string node;
  int64_t events = 0;
  int64_t checkpoints = 0;
  int64_t last_seq = 0;
  int64_t last_checkpoint_seq = 0;
};

struct VerifyReport {
  bool ok = true;
  std::vector<NodeReport> nodes;
  // The first problem found (empty when ok).
  std::string bad_node;
  int64_t bad_seq = 0;  // the first bad event (or checkpoint seq)
  std::string problem;
};

// `trusted_public_key_der`: the audit key's SPKI as the verifier knows it
// (from the server or a file). If empty, checkpoints are checked against the
// key stored with them, and all checkpoints must use the same key (weaker:
// someone able to rewrite the store could re-sign with a key of their own).
// Errors only when the store cannot be read; integrity problems are in the
// report.
absl::StatusOr<VerifyReport> VerifyAuditChain(AuditStore& store,
                                              const std::string& trusted_public_key_der);

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_VERIFIER_H_
