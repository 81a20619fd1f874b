// Building a SubjectPublicKeyInfo from what a token exposes. Internal to pkcs11/.
#ifndef KSEF_PKCS11_PUBLIC_KEY_H_
#define KSEF_PKCS11_PUBLIC_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::pkcs11 {

// CKA_EC_POINT of a P-256 key (DER OCTET STRING, or the raw 65-byte point that
// some modules return) -> SPKI DER. INVALID_ARGUMENT if not a P-256 point.
absl::StatusOr<std::string> EcP256SpkiFromEcPoint(absl::string_view ec_point);

// CKA_MODULUS + CKA_PUBLIC_EXPONENT (big-endian) -> SPKI DER.
absl::StatusOr<std::string> RsaSpkiFromModulus(absl::string_view modulus,
                                               absl::string_view exponent);

// SPKI DER -> "-----BEGIN PUBLIC KEY-----..." PEM.
absl::StatusOr<std::string> SpkiToPem(absl::string_view der);

// DER-encoded namedCurve OID prime256v1, the value of CKA_EC_PARAMS.
extern const char kP256EcParams[];
extern const size_t kP256EcParamsSize;

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_PUBLIC_KEY_H_
