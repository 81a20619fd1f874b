// SoftwareSigner: crypto::Signer over an in-memory OpenSSL key. For tests and
// for checking KSeF formats against fixed vectors; never used by the server
// for KSeF keys (those live in the token).
// Thread-safe (OpenSSL signing with a shared const EVP_PKEY is).
#ifndef KSEF_CRYPTO_SOFTWARE_SIGNER_H_
#define KSEF_CRYPTO_SOFTWARE_SIGNER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/openssl_ptr.h"
#include "crypto/signer.h"

namespace ksef::crypto {

class SoftwareSigner : public Signer {
 public:
  // PEM or DER private key (PKCS#8 or traditional); P-256 or RSA-2048.
  static absl::StatusOr<std::unique_ptr<SoftwareSigner>> FromPrivateKey(absl::string_view key);
  static absl::StatusOr<std::unique_ptr<SoftwareSigner>> Generate(KeyAlgorithm algorithm);

  KeyAlgorithm algorithm() const override { return algorithm_; }
  const std::string& public_key_der() const override { return public_key_der_; }
  absl::StatusOr<std::string> SignDigest(SignatureScheme scheme,
                                         absl::string_view digest) const override;

 private:
  SoftwareSigner(EvpPkeyPtr key, KeyAlgorithm algorithm, std::string public_key_der);
  EvpPkeyPtr key_;
  KeyAlgorithm algorithm_;
  std::string public_key_der_;
};

// Verifies a SignDigest result against an SPKI; for tests of both signers.
absl::Status VerifyDigestSignature(absl::string_view spki_der, SignatureScheme scheme,
                                   absl::string_view digest, absl::string_view signature);

}  // namespace ksef::crypto

#endif  // KSEF_CRYPTO_SOFTWARE_SIGNER_H_
