// What is PKCS#11-specific about public keys: the CKA_EC_PARAMS bytes of
// P-256 and reading a CKA_EC_POINT. General SPKI building is crypto/public_key.h.
// Internal to pkcs11/.
#ifndef KSEF_PKCS11_INTERNAL_PUBLIC_KEY_H_
#define KSEF_PKCS11_INTERNAL_PUBLIC_KEY_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::pkcs11 {

// CKA_EC_POINT of a P-256 key (DER OCTET STRING, or the raw 65-byte point that
// some modules return) -> SPKI DER. INVALID_ARGUMENT if not a P-256 point.
absl::StatusOr<std::string> EcP256SpkiFromEcPoint(absl::string_view ec_point);

// DER-encoded namedCurve OID prime256v1, the value of CKA_EC_PARAMS.
extern const char kP256EcParams[];
extern const size_t kP256EcParamsSize;

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_PUBLIC_KEY_H_
