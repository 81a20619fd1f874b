// PKCS#10 certificate signing requests for KSeF enrollment (ksef.md 4.4),
// signed through crypto::Signer so the private key never leaves the token.
#ifndef KSEF_FORMATS_CSR_CSR_BUILDER_H_
#define KSEF_FORMATS_CSR_CSR_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/signer.h"
#include "formats/csr/enrollment_data.h"

namespace ksef::csr {

// DER CertificationRequestInfo: version 0, BuildSubjectNameDer(data), the
// given SubjectPublicKeyInfo (copied verbatim), empty attributes [0] (A0 00).
// INVALID_ARGUMENT for bad subject data or an SPKI that is not EC P-256 or
// RSA-2048 (KSeF refuses other keys with 25010).
absl::StatusOr<std::string> BuildCertificationRequestInfoDer(const EnrollmentData& data,
                                                             absl::string_view spki_der);

// DER CertificationRequest over signer.public_key_der(). The CRI's SHA-256 is
// signed with signer.SignDigest:
//   EC P-256: kEcdsaSha256, r||s re-encoded as DER ECDSA-Sig-Value (RFC 3279),
//             algorithm ecdsa-with-SHA256 without parameters;
//   RSA-2048: kRsaPkcs1Sha256, algorithm sha256WithRSAEncryption, NULL params.
// Errors: those of BuildCertificationRequestInfoDer; the signer's status as
// is (UNAVAILABLE etc.); INTERNAL if the signer returns a malformed result.
// Thread-safe if the signer is.
absl::StatusOr<std::string> BuildCsrDer(const EnrollmentData& data, const crypto::Signer& signer);

// Standard Base64 of the DER, what POST /certificates/enrollments takes in
// its "csr" field.
std::string CsrToBase64(absl::string_view csr_der);

// PEM "CERTIFICATE REQUEST" block, 64-character lines, trailing newline.
std::string CsrToPem(absl::string_view csr_der);

}  // namespace ksef::csr

#endif  // KSEF_FORMATS_CSR_CSR_BUILDER_H_
