// ECDSA signature encodings: PKCS#11 and XMLDSig use raw r||s, X.509 and
// OpenSSL use the DER ECDSA-Sig-Value of RFC 3279. P-256 only. Pure;
// thread-safe.
#ifndef KSEF_COMMON_ECDSA_H_
#define KSEF_COMMON_ECDSA_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef {

// r||s (2 x 32 bytes) -> DER ECDSA-Sig-Value. INVALID_ARGUMENT for another size.
absl::StatusOr<std::string> EcdsaRawToDer(absl::string_view raw);
// DER ECDSA-Sig-Value -> r||s, left-padded to 32 bytes each.
absl::StatusOr<std::string> EcdsaDerToRaw(absl::string_view der);

// Verifies a raw r||s ECDSA signature of a 32-byte SHA-256 digest with an EC
// SubjectPublicKeyInfo. INVALID_ARGUMENT if it does not verify.
absl::Status VerifyEcdsaSha256Raw(absl::string_view spki_der, absl::string_view digest,
                                 absl::string_view raw_signature);

}  // namespace ksef

#endif  // KSEF_COMMON_ECDSA_H_
