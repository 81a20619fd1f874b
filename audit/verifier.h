// Verifying an audit store: every node's hash chain and its signed
// checkpoints. Detects an edited event (its hash no longer matches), a
// deleted event (a gap in seq, or a broken prev_hash link), a truncated
// tail (a checkpoint names an event that is gone), a deleted or edited
// checkpoint (the next one's link to it breaks, or its signature), and
// events after a node's closing checkpoint. Events written after the last
// checkpoint are protected by the chain only: an attacker who removes them
// leaves no trace (AuditLog's checkpoint cadence bounds that window; the
// report counts them as `unprotected`).
// Works on a live store or offline on a read-only copy. Thread-compatible.
#ifndef KSEF_AUDIT_VERIFIER_H_
#define KSEF_AUDIT_VERIFIER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/anchor.h"
#include "audit/audit_store.h"

namespace ksef::audit {

struct NodeReport {
  std::string node;
  int64_t events = 0;
  int64_t checkpoints = 0;
  int64_t last_seq = 0;
  int64_t last_checkpoint_seq = 0;
  // Events past the last checkpoint: protected by the hash chain only (a cut
  // there leaves no trace). AuditLog bounds it by its checkpoint cadence.
  // Of the anchored checkpoints (when an anchor was given), the newest one.
  int64_t anchored_checkpoints = 0;
  int64_t last_anchored_seq = 0;
  // Events past the last checkpoint (the last anchored one, when an anchor
  // was given): protected by the hash chain only (a cut there leaves no
  // trace). A report line, not a failure: AuditLog bounds it by its
  // checkpoint cadence (audit_checkpoint_events), and after a crash it is
  // what the server had not yet checkpointed.
  int64_t unprotected = 0;
};

struct VerifyReport {
  bool ok = true;
  std::vector<NodeReport> nodes;
  // The first problem found (empty when ok).
  std::string bad_node;
  int64_t bad_seq = 0;  // the first bad event (or checkpoint seq)
  std::string problem;
  // Whether checkpoint signatures were checked against a pinned key (the
  // trusted key, or the fingerprint the anchor names), and the anchor compared.
  bool signatures_pinned = false;
  bool anchor_checked = false;
};

struct VerifyOptions {
  // The audit key's SPKI as the verifier knows it (from the server or a
  // file), or empty.
  std::string trusted_public_key_der;
  // The anchor's records (audit/anchor.h), when one is given: every anchored
  // checkpoint must be in the store as anchored, every node with events must
  // have one, and its fingerprint pins the key when no trusted key is given.
  std::optional<std::vector<AnchorRecord>> anchor;
  // When set, the anchor is this node's own (a server verifying a store it
  // shares with replicas that keep their own anchors): other nodes without
  // anchored checkpoints are not flagged, only checked as without an anchor.
  std::optional<std::string> anchor_node;
};

// With neither a trusted key nor an anchor, checkpoints are checked against
// the key stored with them, and all of a node's checkpoints must use the
// same key (weak: someone able to rewrite the store could re-sign with a key
// of their own; signatures_pinned says so). Errors only when the store
// cannot be read, or the anchor names several keys (INVALID_ARGUMENT);
// integrity problems are in the report.
absl::StatusOr<VerifyReport> VerifyAuditChain(AuditStore& store, const VerifyOptions& options);
// The same with only a trusted key.
absl::StatusOr<VerifyReport> VerifyAuditChain(AuditStore& store,
                                              const std::string& trusted_public_key_der);

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_VERIFIER_H_
