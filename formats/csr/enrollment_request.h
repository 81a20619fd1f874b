// The body of POST /certificates/enrollments (ksef.md 4.5):
//   {"certificateName":"...","certificateType":"...","csr":"..."[,"validFrom":"..."]}
// Pure; thread-safe.
#ifndef KSEF_FORMATS_CSR_ENROLLMENT_REQUEST_H_
#define KSEF_FORMATS_CSR_ENROLLMENT_REQUEST_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ksef::csr {

// KSeF's certificateName rule: 5-100 characters (code points) of a-z, A-Z,
// the Polish letters ąćęłńóśźżĄĆĘŁŃÓŚŹŻ, digits, space, '_' and '-'; valid
// UTF-8 and no control characters (name_rules.h). INVALID_ARGUMENT starting
// with `field` otherwise; the value is never quoted.
absl::Status ValidateCertificateName(absl::string_view name, absl::string_view field);

struct EnrollmentRequest {
  std::string certificate_name;          // validated with ValidateCertificateName
  std::string certificate_type;          // "Authentication" | "Offline"
  std::string csr_base64;                // standard Base64 of the DER CSR
  std::optional<absl::Time> valid_from;  // written as UTC "YYYY-MM-DDTHH:MM:SSZ"
};

// The JSON body. certificate_name is validated (field "certificate_name"),
// so it needs no JSON escaping; certificate_type must be one of the two
// names and csr_base64 standard Base64, otherwise INVALID_ARGUMENT.
absl::StatusOr<std::string> BuildEnrollmentRequestJson(const EnrollmentRequest& request);

}  // namespace ksef::csr

#endif  // KSEF_FORMATS_CSR_ENROLLMENT_REQUEST_H_
