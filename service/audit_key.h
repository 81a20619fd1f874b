// The audit key: an EC P-256 key in the token that signs only audit
// checkpoints. It is not in the key registry's key list, so no RPC can name
// it, and its purpose cannot be changed (design.md section 1).
//
// The service finds it by the CKA_ID recorded in the key registry
// (internal_keys, role "audit"), never by its label: a caller may create a
// key with any label, so a label cannot identify the service's own object
// (design.md section 4). The label "ksef-hsm-audit" is still written, for
// people reading the token with PKCS#11 tools, and is used once, to adopt the
// audit key of a registry from before the CKA_ID was recorded.
#ifndef KSEF_SERVICE_AUDIT_KEY_H_
#define KSEF_SERVICE_AUDIT_KEY_H_

#include "absl/status/statusor.h"
#include "audit/audit_log.h"
#include "pkcs11/key_store.h"
#include "service/key_registry.h"

namespace ksef::service {

inline constexpr char kAuditKeyLabel[] = "ksef-hsm-audit";
inline constexpr char kAuditKeyRole[] = "audit";  // internal_keys.role

// The audit key for this registry and token, looked up in `inventory` (the
// start-up pass over the token, KeyStore::Inventory; no find per key):
//  * recorded: the private key with the recorded CKA_ID (asked of the token
//    directly only when the inventory lacks it: another replica may have made
//    it since the inventory was taken). FAILED_PRECONDITION
//    (saying what to do) if it is not on the token or not EC P-256: a token
//    fault, never papered over by generating a new key.
//  * not recorded (first start, or a registry from before the record): the
//    one EC P-256 private key labelled kAuditKeyLabel whose CKA_ID is not a
//    registry key is adopted; with none, or several (ambiguous: logged as a
//    WARNING), a new key is generated with a random CKA_ID. Either way the
//    CKA_ID is recorded before this returns. A crash between generating and
//    recording leaves one unrecorded labelled key, which the next start adopts.
// Other keys carrying the label never stop start-up (KeyManager::Reconcile
// reports them). UNAVAILABLE and other token/registry errors pass through.
absl::StatusOr<pkcs11::TokenKey> OpenAuditKey(pkcs11::KeyStore& store, KeyRegistry& registry,
                                              const pkcs11::TokenInventory& inventory);

// Checkpoint signing through the token signer of the audit key.
absl::StatusOr<audit::CheckpointSigner> AuditCheckpointSigner(pkcs11::KeyStore& store,
                                                              const pkcs11::TokenKey& key);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_AUDIT_KEY_H_
