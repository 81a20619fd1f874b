#include "ksef/csr/subject_name.h"

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ksef/csr/asn1_der.h"

namespace ksef::csr {
namespace {

// Content octets of the OID 2.5.4.<last> (id-at-*).
std::string AttributeTypeOid(uint8_t last) {
  const char content[] = {0x55, 0x04, static_cast<char>(last)};
  return DerTlv(kTagOid, absl::string_view(content, sizeof(content)));
}

struct Attribute {
  const char* field;  // JSON key, for messages
  uint8_t oid_last;   // 2.5.4.x
  uint8_t string_tag;
  const std::optional<std::string>* value;
};

absl::Status CheckValue(const Attribute& a) {
  const std::string& v = **a.value;
  if (a.string_tag == kTagPrintableString) {
    if (!IsPrintableString(v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "subject ", a.field,
          ": contains a character a PrintableString cannot hold (allowed: A-Z a-z 0-9 space "
          "' ( ) + , - . / : = ?)"));
    }
  } else if (!IsValidUtf8(v)) {
    return absl::InvalidArgumentError(absl::StrCat("subject ", a.field, ": not valid UTF-8"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> BuildSubjectNameDer(const EnrollmentData& data) {
  if (data.common_name.empty()) {
    return absl::InvalidArgumentError("subject commonName: is empty");
  }
  if (data.country_name.size() != 2 || !absl::ascii_isalpha(data.country_name[0]) ||
      !absl::ascii_isalpha(data.country_name[1])) {
    return absl::InvalidArgumentError(
        "subject countryName: must be exactly two letters (ISO 3166 alpha-2)");
  }
  const std::optional<std::string> common_name = data.common_name;
  const std::optional<std::string> country_name = data.country_name;
  const Attribute attributes[] = {
      {"commonName", 3, kTagUtf8String, &common_name},
      {"surname", 4, kTagUtf8String, &data.surname},
      {"givenName", 42, kTagUtf8String, &data.given_name},
      {"organizationName", 10, kTagUtf8String, &data.organization_name},
      {"organizationIdentifier", 97, kTagUtf8String, &data.organization_identifier},
      {"countryName", 6, kTagPrintableString, &country_name},
      {"serialNumber", 5, kTagPrintableString, &data.serial_number},
      {"uniqueIdentifier", 45, kTagUtf8String, &data.unique_identifier},
  };
  std::string rdns;
  for (const Attribute& a : attributes) {
    if (!a.value->has_value() || (*a.value)->empty()) continue;
    absl::Status s = CheckValue(a);
    if (!s.ok()) return s;
    const std::string type_and_value =
        DerTlv(kTagSequence, AttributeTypeOid(a.oid_last) + DerTlv(a.string_tag, **a.value));
    rdns += DerTlv(kTagSet, type_and_value);
  }
  return DerTlv(kTagSequence, rdns);
}

}  // namespace ksef::csr
