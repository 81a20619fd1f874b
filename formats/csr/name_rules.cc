#include "formats/csr/name_rules.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/utf8.h"
#include "formats/csr/asn1_der.h"

namespace ksef::csr {
namespace {

// Upper bounds in characters. RFC 5280 Appendix A (upper bounds of X.520):
//   ub-common-name 64, ub-organization-name 64, ub-serial-number 64,
//   ub-country-name-alpha-length 2.
// Bounds RFC 5280 leaves open, chosen here:
//   surname, givenName: X520name allows ub-name = 32768. A 32768-character
//     value (up to 128 KiB of UTF-8) would be hundreds of times the size of
//     the rest of a CSR, and no real name needs it; KSeF copies these values
//     from the certificate the subject authenticated with, whose issuers bound
//     them far lower in practice. 128 is twice ub-common-name, so several
//     given names or a long double-barrelled surname still fit.
//   organizationIdentifier: X.520 UnboundedDirectoryString. Its ETSI EN
//     319 412-1 form is "VATPL-" + a national identifier (at most about 20
//     characters, e.g. an EU VAT number); 64 as for the other identifiers.
//   uniqueIdentifier: a UUID in KSeF's data (36 characters); 64.
constexpr size_t kUbCommonName = 64;
constexpr size_t kPracticalUbPersonalName = 128;
constexpr size_t kUbOrganizationName = 64;
constexpr size_t kPracticalUbIdentifier = 64;
constexpr size_t kUbSerialNumber = 64;
constexpr size_t kCountryNameLength = 2;

constexpr NameAttributeRule kRules[] = {
    {"commonName", "common_name", 3, kTagUtf8String, 1, kUbCommonName},
    {"surname", "surname", 4, kTagUtf8String, 1, kPracticalUbPersonalName},
    {"givenName", "given_name", 42, kTagUtf8String, 1, kPracticalUbPersonalName},
    {"organizationName", "organization_name", 10, kTagUtf8String, 1, kUbOrganizationName},
    {"organizationIdentifier", "organization_identifier", 97, kTagUtf8String, 1,
     kPracticalUbIdentifier},
    {"countryName", "country_name", 6, kTagPrintableString, kCountryNameLength, kCountryNameLength},
    {"serialNumber", "serial_number", 5, kTagPrintableString, 1, kUbSerialNumber},
    {"uniqueIdentifier", "unique_identifier", 45, kTagUtf8String, 1, kPracticalUbIdentifier},
};

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status CheckCountryName(absl::string_view value, absl::string_view field) {
  if (value.size() != 2 || !absl::ascii_isalpha(value[0]) || !absl::ascii_isalpha(value[1])) {
    return Invalid(field, "must be exactly two letters (ISO 3166 alpha-2, e.g. PL)");
  }
  return absl::OkStatus();
}

}  // namespace

const NameAttributeRule& RuleOf(NameAttribute attribute) {
  return kRules[static_cast<size_t>(attribute)];
}

absl::Status ValidateText(absl::string_view value, absl::string_view field, size_t min_chars,
                          size_t max_chars) {
  if (value.empty() && min_chars > 0) return Invalid(field, "is empty; a value is required");
  size_t chars = 0;
  std::optional<uint32_t> first_control;
  size_t control_position = 0;
  for (size_t pos = 0; pos < value.size();) {
    const size_t start = pos;
    std::optional<uint32_t> cp = DecodeUtf8(value, &pos);
    if (!cp.has_value()) {
      return Invalid(field, absl::StrCat("not valid UTF-8 (at byte offset ", start, ")"));
    }
    ++chars;
    if (!first_control.has_value() && IsControl(*cp)) {
      first_control = cp;
      control_position = chars;
    }
  }
  if (chars > max_chars) {
    return Invalid(field, absl::StrCat(chars, " characters; at most ", max_chars, " allowed"));
  }
  if (chars < min_chars) {
    return Invalid(field, absl::StrCat(chars, " characters; at least ", min_chars, " required"));
  }
  if (first_control.has_value()) {
    return Invalid(field, absl::StrFormat("contains a control character (U+%04X) at position %d",
                                          *first_control, control_position));
  }
  return absl::OkStatus();
}

absl::Status ValidateNameValue(NameAttribute attribute, absl::string_view value,
                               absl::string_view field) {
  const NameAttributeRule& rule = RuleOf(attribute);
  absl::Status text = ValidateText(value, field, rule.min_chars, rule.max_chars);
  if (!text.ok()) return text;
  if (attribute == NameAttribute::kCountryName) return CheckCountryName(value, field);
  if (rule.string_tag == kTagPrintableString && !IsPrintableString(value)) {
    return Invalid(field,
                   "contains a character a PrintableString cannot hold (allowed: A-Z a-z 0-9 "
                   "space ' ( ) + , - . / : = ?)");
  }
  return absl::OkStatus();
}

}  // namespace ksef::csr
