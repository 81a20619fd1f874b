// libFuzzer target: ksef::csr::ParseEnrollmentDataJson (the body of KSeF's
// GET /certificates/enrollments/data, handed in by callers for a CSR).
//
// Invariants (the header's contract): a refusal is INVALID_ARGUMENT
// prefixed "enrollment data: "; an accepted object has a non-empty
// commonName and countryName, and every value is valid UTF-8 without U+0000.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/utf8.h"
#include "formats/csr/enrollment_data.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool IsCleanText(absl::string_view value) {
  return ksef::IsValidUtf8(value) && !absl::StrContains(value, absl::string_view("\0", 1));
}

bool IsCleanOptional(const std::optional<std::string>& value) {
  return !value.has_value() || IsCleanText(*value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ksef::csr::EnrollmentData> parsed = ksef::csr::ParseEnrollmentDataJson(json);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StartsWith(parsed.status().message(), "enrollment data: "));
    return 0;
  }
  FUZZ_CHECK(!parsed->common_name.empty());
  FUZZ_CHECK(!parsed->country_name.empty());
  FUZZ_CHECK(IsCleanText(parsed->common_name));
  FUZZ_CHECK(IsCleanText(parsed->country_name));
  FUZZ_CHECK(IsCleanOptional(parsed->surname));
  FUZZ_CHECK(IsCleanOptional(parsed->given_name));
  FUZZ_CHECK(IsCleanOptional(parsed->organization_name));
  FUZZ_CHECK(IsCleanOptional(parsed->organization_identifier));
  FUZZ_CHECK(IsCleanOptional(parsed->serial_number));
  FUZZ_CHECK(IsCleanOptional(parsed->unique_identifier));
  return 0;
}
