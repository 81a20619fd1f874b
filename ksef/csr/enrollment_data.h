// EnrollmentData: KSeF's CertificateEnrollmentDataResponse
// (GET /certificates/enrollments/data, ksef.md 4.3), the subject values a
// KSeF certificate request must carry unchanged.
#ifndef KSEF_KSEF_CSR_ENROLLMENT_DATA_H_
#define KSEF_KSEF_CSR_ENROLLMENT_DATA_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::csr {

// Field names follow the JSON keys. commonName and countryName are required
// by the API; the others are nullable (std::nullopt when null or absent).
struct EnrollmentData {
  std::string common_name;                             // "commonName"
  std::optional<std::string> surname;                  // "surname"
  std::optional<std::string> given_name;               // "givenName"
  std::optional<std::string> organization_name;        // "organizationName"
  std::optional<std::string> organization_identifier;  // "organizationIdentifier"
  std::string country_name;                            // "countryName"
  std::optional<std::string> serial_number;            // "serialNumber"
  std::optional<std::string> unique_identifier;        // "uniqueIdentifier"
};

// Parses the response body exactly as KSeF returns it: one flat JSON object
// whose values are strings or null. Strings are unescaped (\uXXXX including
// surrogate pairs) and must be valid UTF-8 without U+0000.
// Unknown keys are ignored (ksef.md does not forbid additions), but any
// value that is not a string or null (number, boolean, object, array) is
// refused, as are duplicate keys, a missing/null/empty commonName or
// countryName, and anything after the closing brace.
// Errors: INVALID_ARGUMENT, message prefixed "enrollment data: " and, for
// syntax errors, carrying the byte offset. Pure; thread-safe.
absl::StatusOr<EnrollmentData> ParseEnrollmentDataJson(absl::string_view json);

}  // namespace ksef::csr

#endif  // KSEF_KSEF_CSR_ENROLLMENT_DATA_H_
