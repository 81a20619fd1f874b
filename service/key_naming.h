// Key naming: what a key id and a key name may look like, and how a
// caller's subject is checked. The one home of these rules; KeyManager
// (key_creation.cc, key_lookup.cc) and the services use them.
#ifndef KSEF_SERVICE_KEY_NAMING_H_
#define KSEF_SERVICE_KEY_NAMING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/key_model.h"

namespace ksef::service {

// Key ids and token labels starting with this prefix belong to the service's
// internal objects (the audit key is labelled "ksef-hsm-audit"): callers
// cannot create keys with them.
inline constexpr char kInternalKeyPrefix[] = "ksef-hsm-";

// 1-63 lowercase letters, digits and '-', not starting with '-'.
bool ValidKeyId(absl::string_view id);

// The key_id a caller asked for: empty (the service picks one) or
// well-formed and not in the reserved kInternalKeyPrefix namespace.
// INVALID_ARGUMENT naming key_id.
absl::Status CheckNewKeyId(const std::string& key_id);

// "auth-1a2b3c..." / "offline-..." for a key the caller did not name.
std::string GenerateKeyId(KeyPurpose purpose);

// Checks a KSeF subject value for its type (NIP and PESEL check digits, a
// fingerprint's form) and normalizes it in place (fingerprints: uppercase
// hex). INVALID_ARGUMENT naming subject.value.
absl::Status NormalizeSubject(SubjectType type, std::string& value);

// "keys/abc" -> "abc"; INVALID_ARGUMENT naming the expected form.
absl::StatusOr<std::string> KeyIdFromName(absl::string_view name);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_KEY_NAMING_H_
