#include "formats/csr/subject_name.h"

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "formats/csr/asn1_der.h"
#include "formats/csr/name_rules.h"

namespace ksef::csr {
namespace {

// Content octets of the OID 2.5.4.<last> (id-at-*).
std::string AttributeTypeOid(uint8_t last) {
  const char content[] = {0x55, 0x04, static_cast<char>(last)};
  return DerTlv(kTagOid, absl::string_view(content, sizeof(content)));
}

}  // namespace

absl::StatusOr<std::string> BuildSubjectNameDer(const EnrollmentData& data) {
  // The last gate before anything is signed: callers validate earlier with
  // the names their own callers used; this repeats it with the JSON keys.
  KSEF_RETURN_IF_ERROR(ValidateEnrollmentData(data, FieldNaming::kJsonKeys, "subject "));
  std::string rdns;
  for (NameAttribute attribute : kAllNameAttributes) {
    const std::string* value = FieldValue(data, attribute);
    if (value == nullptr || value->empty()) continue;
    const NameAttributeRule& rule = RuleOf(attribute);
    const std::string type_and_value =
        DerTlv(kTagSequence, AttributeTypeOid(rule.oid_last) + DerTlv(rule.string_tag, *value));
    rdns += DerTlv(kTagSet, type_and_value);
  }
  return DerTlv(kTagSequence, rdns);
}

}  // namespace ksef::csr
