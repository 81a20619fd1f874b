// Public keys: SubjectPublicKeyInfo building and encoding, and KSeF's key
// type rule (EC P-256 or RSA-2048). Pure; thread-safe.
#ifndef KSEF_CRYPTO_PUBLIC_KEY_H_
#define KSEF_CRYPTO_PUBLIC_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace ksef::crypto {

// True if `key` is an EC key on P-256 (prime256v1): the one P-256 check.
bool IsEcP256(const EVP_PKEY* key);

// SubjectPublicKeyInfo DER of a key. INTERNAL if OpenSSL cannot encode it.
absl::StatusOr<std::string> PublicKeyDerOf(const EVP_PKEY* key);

// A 65-byte uncompressed P-256 point (04 || X || Y) -> SPKI DER.
// INVALID_ARGUMENT if it is not such a point or not on the curve.
absl::StatusOr<std::string> EcP256SpkiFromPoint(absl::string_view point);

// RSA modulus + public exponent (big-endian) -> SPKI DER.
absl::StatusOr<std::string> RsaSpkiFromModulus(absl::string_view modulus,
                                               absl::string_view exponent);

// SPKI DER -> "-----BEGIN PUBLIC KEY-----..." PEM.
absl::StatusOr<std::string> SpkiToPem(absl::string_view der);

}  // namespace ksef::crypto

#endif  // KSEF_CRYPTO_PUBLIC_KEY_H_
