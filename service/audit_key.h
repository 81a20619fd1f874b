// The audit key: an EC P-256 key in the token, labelled "ksef-hsm-audit",
// that signs only audit checkpoints. It is not in the key registry, so no
// RPC can name it, and its purpose cannot be changed (design.md section 1).
#ifndef KSEF_SERVICE_AUDIT_KEY_H_
#define KSEF_SERVICE_AUDIT_KEY_H_

#include "absl/status/statusor.h"
#include "audit/audit_log.h"
#include "hsm/key_store.h"

namespace ksef::service {

inline constexpr char kAuditKeyLabel[] = "ksef-hsm-audit";

// Finds the audit key on the token, or generates it on first start.
// FAILED_PRECONDITION if several keys carry the label.
absl::StatusOr<hsm::TokenKey> OpenAuditKey(hsm::KeyStore& store);

// Checkpoint signing through the token signer of the audit key.
absl::StatusOr<audit::CheckpointSigner> AuditCheckpointSigner(hsm::KeyStore& store,
                                                              const hsm::TokenKey& key);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_AUDIT_KEY_H_
