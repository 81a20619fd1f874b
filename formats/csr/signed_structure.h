// The SIGNED{} wrapper shared by PKCS#10 requests and X.509 certificates:
//   SEQUENCE { toBeSigned, AlgorithmIdentifier, BIT STRING signature }.
// Internal to formats/ (csr and cert).
#ifndef KSEF_FORMATS_CSR_SIGNED_STRUCTURE_H_
#define KSEF_FORMATS_CSR_SIGNED_STRUCTURE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/signer.h"

namespace ksef::csr {

// The AlgorithmIdentifier DER a signer's key signs with here:
//   EC P-256: ecdsa-with-SHA256 without parameters;
//   RSA-2048: sha256WithRSAEncryption with NULL parameters.
absl::StatusOr<std::string> SignatureAlgorithmDer(crypto::KeyAlgorithm algorithm);

// Signs SHA-256(to_be_signed) with `signer` (EC: r||s re-encoded as a DER
// ECDSA-Sig-Value, RFC 3279; RSA: PKCS#1 v1.5) and returns the whole
// SEQUENCE. The signer's errors are returned as is; INTERNAL if it returns a
// malformed result. Thread-safe if the signer is.
absl::StatusOr<std::string> SignToBeSigned(std::string to_be_signed, const crypto::Signer& signer);

}  // namespace ksef::csr

#endif  // KSEF_FORMATS_CSR_SIGNED_STRUCTURE_H_
