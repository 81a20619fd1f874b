#include "service/audit_key.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace ksef::service {

absl::StatusOr<hsm::TokenKey> OpenAuditKey(hsm::KeyStore& store) {
  KSEF_ASSIGN_OR_RETURN(std::vector<hsm::TokenKey> keys, store.List());
  std::vector<hsm::TokenKey> found;
  for (hsm::TokenKey& k : keys) {
    if (k.label == kAuditKeyLabel) found.push_back(std::move(k));
  }
  if (found.size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        found.size(), " keys on the token are labelled '", kAuditKeyLabel,
        "'; exactly one audit key may exist (remove the extra ones with pkcs11-tool)"));
  }
  if (found.size() == 1) {
    if (found[0].algorithm != hsm::KeyAlgorithm::kEcP256) {
      return absl::FailedPreconditionError(
          absl::StrCat("the audit key '", kAuditKeyLabel, "' is not an EC P-256 key"));
    }
    return found[0];
  }
  KSEF_ASSIGN_OR_RETURN(hsm::TokenKey key, store.Generate(hsm::KeyAlgorithm::kEcP256,
                                                          kAuditKeyLabel));
  LogInfo("generated the audit key '", kAuditKeyLabel, "' on the token");
  return key;
}

absl::StatusOr<audit::CheckpointSigner> AuditCheckpointSigner(hsm::KeyStore& store,
                                                              const hsm::TokenKey& key) {
  KSEF_ASSIGN_OR_RETURN(std::shared_ptr<hsm::Signer> signer, store.GetSigner(key.id));
  audit::CheckpointSigner out;
  out.public_key_der = key.public_key_der;
  out.sign = [signer](const std::string& digest) {
    return signer->SignDigest(hsm::SignatureScheme::kEcdsaSha256, digest);
  };
  return out;
}

}  // namespace ksef::service
