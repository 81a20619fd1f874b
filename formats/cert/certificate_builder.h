// X.509 v3 certificates signed through crypto::Signer: the local test CA's and
// the self-signed TEST certificates (ksef.md 2.4 and 4.1). Pure; thread-safe
// if the signer is.
#ifndef KSEF_FORMATS_CERT_CERTIFICATE_BUILDER_H_
#define KSEF_FORMATS_CERT_CERTIFICATE_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/signer.h"
#include "formats/cert/certificate_info.h"

namespace ksef::cert {

struct CertificateFields {
  std::string serial;  // big-endian magnitude, 1..20 bytes, not all zero
  std::string issuer_name_der;
  std::string subject_name_der;
  std::string subject_public_key_der;  // SubjectPublicKeyInfo
  absl::Time not_before;
  absl::Time not_after;
  // A CA certificate: basicConstraints CA:TRUE, keyUsage keyCertSign|cRLSign.
  // Otherwise basicConstraints CA:FALSE and the keyUsage of `type`.
  bool is_ca = false;
  CertificateType type = CertificateType::kAuthentication;
};

// DER certificate: version 3, the fields above, extensions basicConstraints
// (critical), keyUsage (critical), subjectKeyIdentifier (SHA-1 of the
// subject key) and authorityKeyIdentifier (SHA-1 of `issuer_spki_der`),
// times as UTCTime up to 2049 and GeneralizedTime after. Signed with
// `issuer` (ecdsa-with-SHA256 or sha256WithRSAEncryption).
// INVALID_ARGUMENT for a bad serial, SPKI or an empty validity.
absl::StatusOr<std::string> BuildCertificateDer(const CertificateFields& fields,
                                                absl::string_view issuer_spki_der,
                                                const crypto::Signer& issuer);

// 8 random bytes with the high bit cleared and a non-zero first byte (the
// shape of KSeF's 16-hex-digit serials).
std::string RandomSerial();

}  // namespace ksef::cert

#endif  // KSEF_FORMATS_CERT_CERTIFICATE_BUILDER_H_
