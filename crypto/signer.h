// Signer: signs a SHA-256 digest with one private key. The KSeF format code
// (formats/) sees only this interface; it never learns whether the key is in a
// token (pkcs11::Pkcs11Signer) or in memory (crypto::SoftwareSigner, tests and
// vectors). Target ksef_signer: this header and KeyAlgorithmName only.
#ifndef KSEF_CRYPTO_SIGNER_H_
#define KSEF_CRYPTO_SIGNER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::crypto {

enum class KeyAlgorithm { kEcP256, kRsa2048 };

enum class SignatureScheme {
  kEcdsaSha256,     // EC keys: raw r||s, 32+32 bytes, left-padded
  kRsaPkcs1Sha256,  // RSA keys: RSASSA-PKCS1-v1_5 with a SHA-256 DigestInfo
  kRsaPssSha256,    // RSA keys: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32
};

const char* KeyAlgorithmName(KeyAlgorithm algorithm);  // "EC_P256" | "RSA_2048"

class Signer {
 public:
  virtual ~Signer() = default;

  virtual KeyAlgorithm algorithm() const = 0;
  // SubjectPublicKeyInfo DER of the key.
  virtual const std::string& public_key_der() const = 0;

  // Signs a 32-byte SHA-256 digest. INVALID_ARGUMENT for a wrong digest size
  // or a scheme that does not fit the key; UNAVAILABLE when the token is
  // down; FAILED_PRECONDITION/NOT_FOUND when the key is gone.
  // Thread-safe: many callers may sign with one Signer at once.
  virtual absl::StatusOr<std::string> SignDigest(SignatureScheme scheme,
                                                 absl::string_view digest) const = 0;
};

}  // namespace ksef::crypto

#endif  // KSEF_CRYPTO_SIGNER_H_
