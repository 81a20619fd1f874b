#include "audit/verifier.h"

#include <algorithm>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/ecdsa.h"
#include "common/status_macros.h"

namespace ksef::audit {
namespace {

constexpr int kPage = 2000;

void Fail(VerifyReport& report, const std::string& node, int64_t seq, std::string problem) {
  if (!report.ok) return;
  report.ok = false;
  report.bad_node = node;
  report.bad_seq = seq;
  report.problem = std::move(problem);
}

// Which key a checkpoint must be signed by: the trusted key when given,
// else a key with the anchor's fingerprint, else (unpinned) the key of the
// node's first checkpoint.
struct KeyRule {
  std::string trusted_der;
  std::string pinned_sha256;
};

// One checkpoint against the key and the checkpoint before it (`prev`,
// null for the node's first stored one).
void VerifyCheckpoint(const Checkpoint& cp, const Checkpoint* prev, const KeyRule& rule,
                      std::string& unpinned_key, bool seen_v2, VerifyReport& report) {
  const std::string at = absl::StrCat("checkpoint at seq ", cp.seq);
  if (rule.trusted_der.empty() && rule.pinned_sha256.empty() && unpinned_key.empty()) {
    unpinned_key = cp.public_key_der;
  }
  const bool right_key = !rule.trusted_der.empty() ? cp.public_key_der == rule.trusted_der
                         : !rule.pinned_sha256.empty()
                             ? KeyFingerprint(cp.public_key_der) == rule.pinned_sha256
                             : cp.public_key_der == unpinned_key;
  if (!right_key) {
    return Fail(report, cp.node, cp.seq,
                absl::StrCat(at, " is signed by another key than the audit key"));
  }
  if (!VerifyEcdsaSha256Raw(cp.public_key_der, CheckpointDigest(cp), cp.signature).ok()) {
    return Fail(report, cp.node, cp.seq, absl::StrCat(at, " has an invalid signature"));
  }
  if (cp.version == 1) {
    if (seen_v2) {
      Fail(report, cp.node, cp.seq,
           absl::StrCat(at, " is an unchained version 1 checkpoint after chained ones"));
    }
    return;
  }
  const std::string expected_prev = prev != nullptr ? CheckpointDigest(*prev) : ZeroHash();
  if (cp.prev_hash != expected_prev) {
    return Fail(
        report, cp.node, cp.seq,
        prev == nullptr
            ? absl::StrCat(at,
                           " links to an earlier checkpoint that is not in the "
                           "store: checkpoints were deleted")
            : absl::StrCat(at, " does not link to the checkpoint before it (seq ", prev->seq,
                           "): a checkpoint between them was deleted or replaced"));
  }
  const int64_t since = cp.seq - (prev != nullptr ? prev->seq : 0);
  if (cp.count != since) {
    Fail(report, cp.node, cp.seq,
         absl::StrCat(at, " signed ", cp.count, " events since the previous checkpoint, but ",
                      since, " lie between them"));
  }
}

// The anchored checkpoints of one node against the store's.
void VerifyAnchored(const std::vector<const AnchorRecord*>& anchored,
                    const std::vector<Checkpoint>& stored, VerifyReport& report) {
  absl::flat_hash_map<int64_t, const Checkpoint*> by_seq;
  for (const Checkpoint& cp : stored) by_seq[cp.seq] = &cp;
  for (const AnchorRecord* record : anchored) {
    const Checkpoint& a = record->checkpoint;
    auto it = by_seq.find(a.seq);
    if (it == by_seq.end()) {
      return Fail(report, a.node, a.seq,
                  absl::StrCat("anchored checkpoint at seq ", a.seq, " (anchor line ", record->line,
                               ") is missing from the database"));
    }
    const Checkpoint& s = *it->second;
    if (CheckpointDigest(s) != CheckpointDigest(a) || s.signature != a.signature ||
        KeyFingerprint(s.public_key_der) != record->key_sha256) {
      return Fail(report, a.node, a.seq,
                  absl::StrCat("checkpoint at seq ", a.seq,
                               " in the database differs from the anchored one (anchor line ",
                               record->line, ")"));
    }
  }
}

struct NodeInput {
  std::string node;
  std::vector<const AnchorRecord*> anchored;  // in file order
};

absl::Status VerifyNode(AuditStore& store, const NodeInput& in, const KeyRule& rule,
                        bool with_anchor, VerifyReport& report) {
  const std::string& node = in.node;
  NodeReport nr;
  nr.node = node;
  KSEF_ASSIGN_OR_RETURN(std::vector<Checkpoint> checkpoints, store.Checkpoints(node));
  absl::flat_hash_map<int64_t, const Checkpoint*> by_seq;
  std::string unpinned_key;
  bool seen_v2 = false;
  for (size_t i = 0; i < checkpoints.size(); ++i) {
    const Checkpoint& cp = checkpoints[i];
    by_seq[cp.seq] = &cp;
    VerifyCheckpoint(cp, i > 0 ? &checkpoints[i - 1] : nullptr, rule, unpinned_key, seen_v2,
                     report);
    seen_v2 = seen_v2 || cp.version != 1;
    nr.last_checkpoint_seq = std::max(nr.last_checkpoint_seq, cp.seq);
  }
  nr.checkpoints = static_cast<int64_t>(checkpoints.size());
  if (auto zero = by_seq.find(0); zero != by_seq.end() && zero->second->head_hash != ZeroHash()) {
    Fail(report, node, 0, "checkpoint at seq 0 does not sign the empty chain");
  }
  VerifyAnchored(in.anchored, checkpoints, report);
  const Checkpoint* last_anchored = nullptr;
  for (const AnchorRecord* r : in.anchored) {
    if (last_anchored == nullptr || r->checkpoint.seq >= last_anchored->seq) {
      last_anchored = &r->checkpoint;
    }
  }
  nr.anchored_checkpoints = static_cast<int64_t>(in.anchored.size());
  nr.last_anchored_seq = last_anchored != nullptr ? last_anchored->seq : 0;

  std::string prev = ZeroHash();
  int64_t expected = 1;
  while (true) {
    KSEF_ASSIGN_OR_RETURN(std::vector<AuditEvent> events,
                          store.ReadChain(node, expected - 1, kPage));
    if (events.empty()) break;
    for (const AuditEvent& e : events) {
      if (e.seq != expected) {
        Fail(report, node, expected,
             absl::StrCat("event ", expected, " is missing (the next one stored is ", e.seq,
                          "): events were deleted"));
      } else if (e.prev_hash != prev) {
        Fail(report, node, e.seq,
             absl::StrCat("event ", e.seq,
                          " does not link to its predecessor: an earlier event was deleted or "
                          "replaced"));
      } else if (EventHash(e) != e.hash) {
        Fail(report, node, e.seq,
             absl::StrCat("event ", e.seq, " was modified after it was written (hash mismatch)"));
      }
      if (auto it = by_seq.find(e.seq); it != by_seq.end() && it->second->head_hash != e.hash) {
        Fail(report, node, e.seq,
             absl::StrCat("event ", e.seq, " differs from what the checkpoint signed"));
      }
      prev = e.hash;
      expected = e.seq + 1;
      ++nr.events;
      nr.last_seq = e.seq;
    }
    if (!report.ok) break;
  }
  if (nr.last_checkpoint_seq > nr.last_seq) {
    Fail(report, node, nr.last_seq + 1,
         absl::StrCat("the log ends at event ", nr.last_seq, " but a signed checkpoint covers ",
                      nr.last_checkpoint_seq, ": events ", nr.last_seq + 1, "..",
                      nr.last_checkpoint_seq, " were removed (truncated)"));
  }
  const Checkpoint* last = checkpoints.empty() ? nullptr : &checkpoints.back();
  if (last != nullptr && last->closing && nr.last_seq > last->seq) {
    Fail(report, node, last->seq + 1,
         absl::StrCat("events ", last->seq + 1, "..", nr.last_seq,
                      " follow the node's closing checkpoint (written at graceful shutdown): "
                      "the server did not write them"));
  }
  if (with_anchor && last_anchored == nullptr && (nr.events > 0 || nr.checkpoints > 0)) {
    Fail(report, node, 1,
         absl::StrCat("node ", node,
                      " has events but no anchored checkpoint: the anchor does not vouch for "
                      "its chain (fabricated, or written without the anchor)"));
  }
  const int64_t covered = with_anchor ? nr.last_anchored_seq : nr.last_checkpoint_seq;
  nr.unprotected = std::max<int64_t>(0, nr.last_seq - covered);
  report.nodes.push_back(nr);
  return absl::OkStatus();
}

// The one fingerprint every anchor line names; INVALID_ARGUMENT if several.
absl::StatusOr<std::string> AnchorFingerprint(const std::vector<AnchorRecord>& anchor) {
  std::string fingerprint;
  for (const AnchorRecord& r : anchor) {
    if (fingerprint.empty()) fingerprint = r.key_sha256;
    if (r.key_sha256 != fingerprint) {
      return absl::InvalidArgumentError(
          absl::StrCat("the anchor names two audit keys (", fingerprint, " and, at line ", r.line,
                       ", ", r.key_sha256, "): it was not written by one server installation"));
    }
  }
  return fingerprint;
}

}  // namespace

absl::StatusOr<VerifyReport> VerifyAuditChain(AuditStore& store, const VerifyOptions& options) {
  VerifyReport report;
  KeyRule rule{options.trusted_public_key_der, {}};
  const bool with_anchor = options.anchor.has_value();
  std::set<std::string> names;
  absl::flat_hash_map<std::string, std::vector<const AnchorRecord*>> anchored;
  if (with_anchor) {
    KSEF_ASSIGN_OR_RETURN(rule.pinned_sha256, AnchorFingerprint(*options.anchor));
    if (!rule.trusted_der.empty() && !rule.pinned_sha256.empty() &&
        KeyFingerprint(rule.trusted_der) != rule.pinned_sha256) {
      Fail(report, "", 0,
           absl::StrCat("the anchor pins the audit key ", rule.pinned_sha256,
                        " but the key given has fingerprint ", KeyFingerprint(rule.trusted_der)));
    }
    for (const AnchorRecord& r : *options.anchor) {
      anchored[r.checkpoint.node].push_back(&r);
      names.insert(r.checkpoint.node);
    }
  }
  KSEF_ASSIGN_OR_RETURN(std::vector<std::string> nodes, store.Nodes());
  names.insert(nodes.begin(), nodes.end());
  report.signatures_pinned = !rule.trusted_der.empty() || !rule.pinned_sha256.empty();
  report.anchor_checked = with_anchor;
  for (const std::string& node : names) {
    NodeInput in{node, anchored[node]};
    const bool anchored_here =
        with_anchor && (!options.anchor_node.has_value() || *options.anchor_node == node);
    KSEF_RETURN_IF_ERROR(VerifyNode(store, in, rule, anchored_here, report));
  }
  return report;
}

absl::StatusOr<VerifyReport> VerifyAuditChain(AuditStore& store,
                                              const std::string& trusted_public_key_der) {
  VerifyOptions options;
  options.trusted_public_key_der = trusted_public_key_der;
  return VerifyAuditChain(store, options);
}

}  // namespace ksef::audit
