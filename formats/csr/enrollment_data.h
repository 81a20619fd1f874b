// EnrollmentData: KSeF's CertificateEnrollmentDataResponse
// (GET /certificates/enrollments/data, ksef.md 4.3), the subject values a
// KSeF certificate request must carry unchanged.
#ifndef KSEF_FORMATS_CSR_ENROLLMENT_DATA_H_
#define KSEF_FORMATS_CSR_ENROLLMENT_DATA_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "formats/csr/name_rules.h"

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

// The value of `attribute` in `data`; nullptr when an optional field is
// absent (std::nullopt). Required fields are always returned, even empty.
const std::string* FieldValue(const EnrollmentData& data, NameAttribute attribute);

// How ValidateEnrollmentData names a field in its messages: by the JSON key
// ("commonName") or by the gRPC/C++ field name ("common_name").
enum class FieldNaming { kJsonKeys, kProtoFields };

// Every field against name_rules.h: commonName and countryName must be
// present and valid; optional fields are checked when non-empty (empty ones
// are left out of the subject Name). INVALID_ARGUMENT for the first bad
// field, its message starting with `prefix` + the field's name, e.g. prefix
// "enrollment_data." gives "enrollment_data.common_name: ...".
absl::Status ValidateEnrollmentData(const EnrollmentData& data, FieldNaming naming,
                                    absl::string_view prefix);

// Parses the response body exactly as KSeF returns it: one flat JSON object
// whose values are strings or null. Strings are unescaped (\uXXXX including
// surrogate pairs) and must be valid UTF-8 without U+0000.
// Unknown keys are ignored (ksef.md does not forbid additions), but any
// value that is not a string or null (number, boolean, object, array) is
// refused, as are duplicate keys, a missing/null/empty commonName or
// countryName, and anything after the closing brace. The values are then
// checked with ValidateEnrollmentData (JSON keys), so control characters and
// over-long values are refused here already.
// Errors: INVALID_ARGUMENT, message prefixed "enrollment data: " (then the
// JSON key for a bad value, e.g. "enrollment data: commonName: 65
// characters; at most 64 allowed") and, for syntax errors, carrying the byte
// offset. Pure; thread-safe.
absl::StatusOr<EnrollmentData> ParseEnrollmentDataJson(absl::string_view json);

}  // namespace ksef::csr

#endif  // KSEF_FORMATS_CSR_ENROLLMENT_DATA_H_
