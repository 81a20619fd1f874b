// The service's model of a KSeF key: what the registry stores beside the
// token. Plain data; no gRPC or PKCS#11 types.
#ifndef KSEF_SERVICE_KEY_MODEL_H_
#define KSEF_SERVICE_KEY_MODEL_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "pkcs11/key_store.h"
#include "crypto/signer.h"
#include "lifecycle/lifecycle.h"

namespace ksef::service {

// Numeric values are stored in the registry: never renumber.
enum class SubjectType { kNip = 1, kPesel = 2, kCertificateFingerprint = 3 };
enum class KeyPurpose { kAuthentication = 1, kOffline = 2 };
// The key states and their transitions are lifecycle/'s (one table for the
// server and the client tests' fakes); the numbers are stored in the registry.
using KeyState = lifecycle::KeyState;
using lifecycle::KeyStateName;

// "AUTHENTICATION" | "OFFLINE", as messages name a purpose.
const char* KeyPurposeName(KeyPurpose purpose);

struct KeyRecord {
  std::string key_id;  // resource name is "keys/" + key_id
  std::string cka_id;  // raw CKA_ID bytes on the token
  SubjectType subject_type = SubjectType::kNip;
  std::string subject_value;
  KeyPurpose purpose = KeyPurpose::kAuthentication;
  crypto::KeyAlgorithm algorithm = crypto::KeyAlgorithm::kEcP256;
  KeyState state = KeyState::kCreating;
  absl::Time create_time;
  absl::Time update_time;
  std::optional<absl::Time> destroy_time;  // set while scheduled / after destruction
  pkcs11::KeyAttestation attestation;
  std::string public_key_der;
  std::string pkcs11_uri;
  std::string certificate_der;  // empty until a certificate is imported
  // Successful signatures allowed with this key (CSR and self-signed
  // certificates included); 0 = no limit. Counted from the audit log.
  int64_t usage_limit = 0;
  // The row's version in the registry (KeyRegistry::Update compares and
  // sets it); 0 for a record not stored yet.
  int64_t version = 0;

  std::string name() const { return "keys/" + key_id; }
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_KEY_MODEL_H_
