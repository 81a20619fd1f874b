// Self-signed certificates for KSeF's TEST environment, which accepts them
// for authentication (ksef.md 2.4). Signed by the key itself (in the token).
// Pure; thread-safe if the signer is.
#ifndef KSEF_FORMATS_CERT_SELF_SIGNED_H_
#define KSEF_FORMATS_CERT_SELF_SIGNED_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/signer.h"
#include "formats/cert/certificate_info.h"
#include "formats/csr/enrollment_data.h"

namespace ksef::cert {

enum class SelfSignedForm {
  kPersonal,  // givenName, surname, serialNumber TINPL-/PNOPL-, commonName, countryName
  kSeal,      // organizationName, organizationIdentifier VATPL-, commonName, countryName
};

struct SelfSignedSubject {
  enum class IdentifierType { kNip, kPesel };
  SelfSignedForm form = SelfSignedForm::kPersonal;
  IdentifierType identifier_type = IdentifierType::kNip;
  std::string identifier;  // 10-digit NIP or 11-digit PESEL, check digit valid
  std::string common_name;
  std::string given_name;         // personal only (required there)
  std::string surname;            // personal only (required there)
  std::string organization_name;  // seal only (required there)
  std::string country_name = "PL";
};

// The subject as EnrollmentData (so it encodes like a CSR subject):
// personal -> serialNumber "TINPL-<NIP>" or "PNOPL-<PESEL>"; seal (NIP only)
// -> organizationIdentifier "VATPL-<NIP>". Every text value is checked
// against formats/csr/name_rules.h (common_name <= 64, given_name and surname
// <= 128, organization_name <= 64 characters; country_name two letters; no
// control characters; valid UTF-8) before anything is encoded.
// INVALID_ARGUMENT naming the field as in SelfSignedSubject (e.g.
// "given_name: 65 characters; ...") for a missing, forbidden or invalid value.
absl::StatusOr<csr::EnrollmentData> SelfSignedSubjectData(const SelfSignedSubject& subject);

// DER certificate with issuer = subject, the key's own SKI as AKI,
// basicConstraints CA:FALSE, the keyUsage of `type`, a random 8-byte serial,
// valid [not_before, not_before + validity], signed by `signer`. The
// subject is validated (SelfSignedSubjectData) before the signer is used;
// INVALID_ARGUMENT for a bad subject or a non-positive validity.
absl::StatusOr<std::string> IssueSelfSigned(const SelfSignedSubject& subject,
                                            CertificateType type, absl::Time not_before,
                                            absl::Duration validity, const crypto::Signer& signer);

}  // namespace ksef::cert

#endif  // KSEF_FORMATS_CERT_SELF_SIGNED_H_
