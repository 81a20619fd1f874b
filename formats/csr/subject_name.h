// The X.509 subject Name for a KSeF certificate request (ksef.md 4.4).
#ifndef KSEF_FORMATS_CSR_SUBJECT_NAME_H_
#define KSEF_FORMATS_CSR_SUBJECT_NAME_H_

#include <string>

#include "absl/status/statusor.h"
#include "formats/csr/enrollment_data.h"

namespace ksef::csr {

// DER Name with one attribute per RDN, in the official C# client's order and
// string types: commonName, surname, givenName, organizationName,
// organizationIdentifier (UTF8String), countryName, serialNumber
// (PrintableString), uniqueIdentifier (UTF8String, as every KSeF artefact
// encodes it). Absent or empty optional fields are left out; values are
// copied unchanged (KSeF refuses a DN that differs from the enrollment data).
// Every value is checked first with ValidateEnrollmentData (name_rules.h:
// length bounds, no control characters, UTF-8 / PrintableString, countryName
// two letters); INVALID_ARGUMENT naming the JSON field ("subject commonName:
// ...") otherwise. Pure; thread-safe.
absl::StatusOr<std::string> BuildSubjectNameDer(const EnrollmentData& data);

}  // namespace ksef::csr

#endif  // KSEF_FORMATS_CSR_SUBJECT_NAME_H_
