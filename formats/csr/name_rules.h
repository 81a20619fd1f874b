// The rules for every text value that reaches a signed certificate, CSR or
// KSeF enrollment request: one table of X.520 / RFC 5280 attribute bounds
// and one text check, used by the CSR builder (formats/csr), the self-signed
// certificate builder (formats/cert) and the enrollment request.
//
// Lengths are counted in characters (Unicode code points), not bytes: 64
// 'Ż' (128 bytes) are 64 characters. Control characters are refused
// everywhere: C0 (U+0000-U+001F, incl. NUL, TAB, LF, CR), DEL (U+007F) and
// C1 (U+0080-U+009F).
//
// Every check returns OK or INVALID_ARGUMENT whose message starts with the
// `field` the caller passes (the name as the caller wrote it, e.g.
// "enrollment_data.common_name") and says what to fix, e.g.
//   "enrollment_data.common_name: 70000 characters; at most 64 allowed"
//   "common_name: contains a control character (U+000A) at position 5"
// Positions count characters from 1. Messages never quote the value, so an
// unbounded or binary value cannot flood a log. Pure; thread-safe.
#ifndef KSEF_FORMATS_CSR_NAME_RULES_H_
#define KSEF_FORMATS_CSR_NAME_RULES_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ksef::csr {

// The subject attributes of a KSeF certificate (ksef.md 4.3), in the order
// the subject Name encodes them (ksef.md 4.4, the C# client's order).
enum class NameAttribute {
  kCommonName,
  kSurname,
  kGivenName,
  kOrganizationName,
  kOrganizationIdentifier,
  kCountryName,
  kSerialNumber,
  kUniqueIdentifier,
};

inline constexpr NameAttribute kAllNameAttributes[] = {
    NameAttribute::kCommonName,
    NameAttribute::kSurname,
    NameAttribute::kGivenName,
    NameAttribute::kOrganizationName,
    NameAttribute::kOrganizationIdentifier,
    NameAttribute::kCountryName,
    NameAttribute::kSerialNumber,
    NameAttribute::kUniqueIdentifier,
};

struct NameAttributeRule {
  const char* json_key;     // "commonName", as KSeF's enrollment data names it
  const char* proto_field;  // "common_name", as the gRPC API names it
  uint8_t oid_last;         // id-at-*: 2.5.4.<oid_last>
  uint8_t string_tag;       // kTagUtf8String or kTagPrintableString
  size_t min_chars;         // 2 for countryName, otherwise 1
  size_t max_chars;         // upper bound in characters (see name_rules.cc)
};

// The rule of `attribute`; a static table, valid for the whole program.
const NameAttributeRule& RuleOf(NameAttribute attribute);

// `value` for `attribute`: non-empty, within the bounds of its rule, no
// control characters; valid UTF-8 for UTF8String attributes, only
// PrintableString characters for PrintableString ones, and exactly two
// ASCII letters (ISO 3166 alpha-2) for countryName.
absl::Status ValidateNameValue(NameAttribute attribute, absl::string_view value,
                               absl::string_view field);

// The shared text check: valid UTF-8, min_chars..max_chars characters, no
// control character. An empty value with min_chars >= 1 gets "is empty".
absl::Status ValidateText(absl::string_view value, absl::string_view field, size_t min_chars,
                          size_t max_chars);

}  // namespace ksef::csr

#endif  // KSEF_FORMATS_CSR_NAME_RULES_H_
