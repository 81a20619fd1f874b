// Validation of KSeF identifiers (NIP, PESEL, certificate fingerprint).
// Pure functions; thread-safe. Messages name the field as given by the caller
// and say what is wrong ("subject.value: NIP check digit is wrong").
#ifndef KSEF_FORMATS_IDENTIFIERS_H_
#define KSEF_FORMATS_IDENTIFIERS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef {

// 10 digits; weights 6,5,7,2,3,4,5,6,7; sum mod 11 equals the last digit
// (a sum mod 11 of 10 is never valid).
// A caller's value quoted for an error message: non-printable bytes shown
// as '?', cut after 64 bytes so a huge or binary value cannot flood a log.
std::string QuoteForMessage(absl::string_view value);

absl::Status ValidateNip(absl::string_view nip, absl::string_view field);

// 11 digits; weights 1,3,7,9,1,3,7,9,1,3; (10 - sum mod 10) mod 10 equals
// the last digit.
absl::Status ValidatePesel(absl::string_view pesel, absl::string_view field);

// 64 hex digits (SHA-256); returns it in uppercase, as KSeF writes it.
absl::StatusOr<std::string> NormalizeFingerprint(absl::string_view fingerprint,
                                                 absl::string_view field);

}  // namespace ksef

#endif  // KSEF_FORMATS_IDENTIFIERS_H_
