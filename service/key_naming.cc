// Key naming (key_naming.h) and KeyManager::ResolveKeyId: from a name or
// pkcs11: URI to the key id.
#include "service/key_naming.h"

#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "formats/identifiers.h"
#include "pkcs11/pkcs11_uri.h"
#include "service/key_manager.h"

namespace ksef::service {

bool ValidKeyId(absl::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
    if (!ok) return false;
  }
  return true;
}

// Names of existing keys are not checked against the prefix, so keys
// created before it was reserved stay usable.
absl::Status CheckNewKeyId(const std::string& key_id) {
  if (key_id.empty()) return absl::OkStatus();  // the service picks one
  if (!ValidKeyId(key_id)) {
    // Quote only a short prefix: the id is the caller's, of any length.
    return absl::InvalidArgumentError(absl::StrCat(
        "key_id '", absl::string_view(key_id).substr(0, 72), key_id.size() > 72 ? "..." : "",
        "' is invalid: use 1-63 lowercase letters, digits and '-', starting with a letter or "
        "digit"));
  }
  if (absl::StartsWith(key_id, kInternalKeyPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat("key_id '", key_id, "' is invalid: the prefix '",
                                                   kInternalKeyPrefix,
                                                   "' is reserved for the service's own keys"));
  }
  return absl::OkStatus();
}

std::string GenerateKeyId(KeyPurpose purpose) {
  std::string rnd = pkcs11::KeyStore::NewId().substr(0, 6);
  std::string hex = HexUpper(rnd);
  for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return absl::StrCat(purpose == KeyPurpose::kAuthentication ? "auth-" : "offline-", hex);
}

absl::Status NormalizeSubject(SubjectType type, std::string& value) {
  if (value.empty()) {
    return absl::InvalidArgumentError(
        "subject.value is empty: give the NIP, PESEL or certificate fingerprint the key's "
        "certificate will carry");
  }
  switch (type) {
    case SubjectType::kNip:
      return ValidateNip(value, "subject.value");
    case SubjectType::kPesel:
      return ValidatePesel(value, "subject.value");
    case SubjectType::kCertificateFingerprint: {
      KSEF_ASSIGN_OR_RETURN(value, NormalizeFingerprint(value, "subject.value"));
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("subject.type is not set: use NIP, PESEL or "
                                    "CERTIFICATE_FINGERPRINT");
}

absl::StatusOr<std::string> KeyIdFromName(absl::string_view name) {
  if (!absl::StartsWith(name, "keys/") || !ValidKeyId(name.substr(5))) {
    // Quote only a short prefix: the name is the caller's, of any length.
    return absl::InvalidArgumentError(absl::StrCat(
        "name '", name.substr(0, 72), name.size() > 72 ? "...'" : "'",
        " is not a key name: use keys/{key_id} (1-63 lowercase letters, digits and '-') or "
        "the key's pkcs11: URI"));
  }
  return std::string(name.substr(5));
}

absl::StatusOr<std::string> KeyManager::ResolveKeyId(absl::string_view name) {
  if (absl::StartsWith(name, "pkcs11:")) {
    auto uri = pkcs11::Pkcs11Uri::Parse(name);
    if (!uri.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("name: ", uri.status().message()));
    }
    if (uri->token && *uri->token != store_->token_label()) {
      return absl::NotFoundError(absl::StrCat("the URI names token '", *uri->token,
                                              "', but this server uses token '",
                                              store_->token_label(), "'"));
    }
    if (uri->type && *uri->type != "private") {
      return absl::InvalidArgumentError("name: a key URI has type=private (or no type)");
    }
    if (uri->id) {
      if (IsReserved(*uri->id)) return absl::NotFoundError(absl::StrCat("no key with URI ", name));
      auto record = registry_->GetByCkaId(*uri->id);
      if (!record.ok()) return absl::NotFoundError(absl::StrCat("no key with URI ", name));
      return record->key_id;
    }
    if (uri->object) return *uri->object;
    return absl::InvalidArgumentError("name: the pkcs11: URI needs an id or object attribute");
  }
  return KeyIdFromName(name);
}

}  // namespace ksef::service
