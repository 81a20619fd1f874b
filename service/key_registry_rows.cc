#include "service/internal/key_registry_rows.h"

#include "absl/strings/ascii.h"

namespace ksef::service::internal {

int64_t PackAttestation(const pkcs11::KeyAttestation& a) {
  return (a.local ? 1 : 0) | (a.sensitive ? 2 : 0) | (a.extractable ? 4 : 0) |
         (a.always_sensitive ? 8 : 0) | (a.never_extractable ? 16 : 0);
}

pkcs11::KeyAttestation UnpackAttestation(int64_t bits) {
  pkcs11::KeyAttestation a;
  a.local = bits & 1;
  a.sensitive = bits & 2;
  a.extractable = bits & 4;
  a.always_sensitive = bits & 8;
  a.never_extractable = bits & 16;
  return a;
}

int64_t AlgorithmCode(crypto::KeyAlgorithm algorithm) {
  return algorithm == crypto::KeyAlgorithm::kEcP256 ? 1 : 2;
}

crypto::KeyAlgorithm AlgorithmOf(int64_t code) {
  return code == 1 ? crypto::KeyAlgorithm::kEcP256 : crypto::KeyAlgorithm::kRsa2048;
}

absl::Status KeyNotFound(const std::string& key_id) {
  return absl::NotFoundError(absl::StrCat("key keys/", key_id, " not found"));
}

absl::Status UsesInFlight(const std::string& key_id) {
  return absl::FailedPreconditionError(absl::StrCat(
      "key keys/", key_id, " has signatures in flight; its usage count cannot be reset now"));
}

absl::Status KeyTaken(const std::string& key_id) {
  return absl::AlreadyExistsError(absl::StrCat("key keys/", key_id, " already exists"));
}

absl::Status InternalKeyTaken(const std::string& role) {
  return absl::AlreadyExistsError(absl::StrCat("an internal key is already recorded for role '",
                                               role, "' (or this CKA_ID is taken)"));
}

absl::Status InternalKeyNotFound(const std::string& role) {
  return absl::NotFoundError(absl::StrCat("no internal key recorded for role '", role, "'"));
}

absl::Status UpdateMissed(const std::string& key_id, bool exists) {
  if (!exists) return KeyNotFound(key_id);
  return absl::AbortedError(absl::StrCat("key keys/", key_id,
                                         " was changed by another request at the same time; "
                                         "read it again and retry"));
}

absl::Status ReserveRefused(const std::string& key_id, const UsageRow* row) {
  if (row == nullptr) return KeyNotFound(key_id);
  if (row->usage.limit <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("key keys/", key_id, " has no usage limit; no use is reserved for it"));
  }
  if (!row->counted) {
    return absl::FailedPreconditionError(absl::StrCat(
        "usage not counted yet for key keys/", key_id,
        " (a key from a registry older than the count); count it from the audit log first"));
  }
  const KeyUsage& u = row->usage;
  return absl::FailedPreconditionError(absl::StrCat(
      "key keys/", key_id, " has reached its usage limit (", u.used + u.reserved, " of ", u.limit,
      " signatures", u.reserved > 0 ? absl::StrCat(", ", u.reserved, " of them in flight") : "",
      "); it makes no more signatures: use another key"));
}

absl::Status CheckLockName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    ok = ok &&
         (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("lock name \"", name, "\" is not 1-64 letters, digits, '-', '_' or '.'"));
}

}  // namespace ksef::service::internal
