#include "audit/verifier.h"

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

absl::Status VerifyNode(AuditStore& store, const std::string& node,
                        const std::string& trusted_key, VerifyReport& report) {
  NodeReport nr;
  nr.node = node;
  KSEF_ASSIGN_OR_RETURN(std::vector<Checkpoint> checkpoints, store.Checkpoints(node));
  absl::flat_hash_map<int64_t, const Checkpoint*> by_seq;
  std::string key = trusted_key;
  for (const Checkpoint& cp : checkpoints) {
    by_seq[cp.seq] = &cp;
    if (key.empty()) key = cp.public_key_der;
    const std::string digest = CheckpointDigest(cp.node, cp.seq, cp.head_hash, cp.time);
    if (cp.public_key_der != key) {
      Fail(report, node, cp.seq,
           absl::StrCat("checkpoint at seq ", cp.seq, " is signed by another key than the audit key"));
    } else if (!VerifyEcdsaSha256Raw(key, digest, cp.signature).ok()) {
      Fail(report, node, cp.seq,
           absl::StrCat("checkpoint at seq ", cp.seq, " has an invalid signature"));
    }
    nr.last_checkpoint_seq = std::max(nr.last_checkpoint_seq, cp.seq);
  }
  nr.checkpoints = static_cast<int64_t>(checkpoints.size());

  std::string prev(32, '\0');
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
  if (report.ok && nr.last_checkpoint_seq > nr.last_seq) {
    Fail(report, node, nr.last_seq + 1,
         absl::StrCat("the log ends at event ", nr.last_seq, " but a signed checkpoint covers ",
                      nr.last_checkpoint_seq, ": events ", nr.last_seq + 1, "..",
                      nr.last_checkpoint_seq, " were removed (truncated)"));
  }
  report.nodes.push_back(nr);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<VerifyReport> VerifyAuditChain(AuditStore& store,
                                              const std::string& trusted_public_key_der) {
  VerifyReport report;
  KSEF_ASSIGN_OR_RETURN(std::vector<std::string> nodes, store.Nodes());
  for (const std::string& node : nodes) {
    KSEF_RETURN_IF_ERROR(VerifyNode(store, node, trusted_public_key_der, report));
  }
  return report;
}

}  // namespace ksef::audit
