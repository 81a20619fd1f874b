// Verifies a XAdES-signed AuthTokenRequest of the shape XadesSigner writes
// (and the official C# client writes): the cryptography AND the structure
// that xmlsec1 does not check (pitfalls.md) - the Signature is the root's
// last element child and the only one, both References are present with the
// expected transforms and SHA-256, ECDSA values are raw r||s, and the
// SigningCertificate (CertDigest, IssuerSerial) describes the certificate
// in KeyInfo. Used as a self-check by callers and by tests.
// Pure; thread-safe.
#ifndef KSEF_FORMATS_XADES_XADES_VERIFIER_H_
#define KSEF_FORMATS_XADES_XADES_VERIFIER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::xades {

struct VerifiedSignature {
  std::string certificate_der;     // from KeyInfo
  std::string signing_time_text;   // xades:SigningTime as written
  std::string signed_info_sha256;  // SHA-256 of the canonical SignedInfo
};

// OK only if every check passes. INVALID_ARGUMENT "signature: ..." naming
// the first failed check (or "document: ..." for XML that does not parse or
// has a DOCTYPE).
absl::StatusOr<VerifiedSignature> VerifySignedAuthTokenRequest(absl::string_view xml);

}  // namespace ksef::xades

#endif  // KSEF_FORMATS_XADES_XADES_VERIFIER_H_
