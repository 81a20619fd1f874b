#include "formats/csr/enrollment_data.h"

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/status_macros.h"

namespace ksef::csr {
namespace {

absl::Status RequireNonEmpty(const std::optional<std::string>& value, bool seen,
                             absl::string_view key) {
  if (!seen)
    return absl::InvalidArgumentError(absl::StrCat("enrollment data: ", key, " is missing"));
  if (!value.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("enrollment data: ", key, " is null"));
  }
  if (value->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("enrollment data: ", key, " is empty"));
  }
  return absl::OkStatus();
}

}  // namespace

const std::string* FieldValue(const EnrollmentData& data, NameAttribute attribute) {
  auto optional = [](const std::optional<std::string>& v) { return v ? &*v : nullptr; };
  switch (attribute) {
    case NameAttribute::kCommonName:
      return &data.common_name;
    case NameAttribute::kSurname:
      return optional(data.surname);
    case NameAttribute::kGivenName:
      return optional(data.given_name);
    case NameAttribute::kOrganizationName:
      return optional(data.organization_name);
    case NameAttribute::kOrganizationIdentifier:
      return optional(data.organization_identifier);
    case NameAttribute::kCountryName:
      return &data.country_name;
    case NameAttribute::kSerialNumber:
      return optional(data.serial_number);
    case NameAttribute::kUniqueIdentifier:
      return optional(data.unique_identifier);
  }
  return nullptr;
}

absl::Status ValidateEnrollmentData(const EnrollmentData& data, FieldNaming naming,
                                    absl::string_view prefix) {
  for (NameAttribute attribute : kAllNameAttributes) {
    const std::string* value = FieldValue(data, attribute);
    const bool required =
        attribute == NameAttribute::kCommonName || attribute == NameAttribute::kCountryName;
    if (value == nullptr || (value->empty() && !required)) continue;
    const NameAttributeRule& rule = RuleOf(attribute);
    const char* name = naming == FieldNaming::kJsonKeys ? rule.json_key : rule.proto_field;
    KSEF_RETURN_IF_ERROR(ValidateNameValue(attribute, *value, absl::StrCat(prefix, name)));
  }
  return absl::OkStatus();
}

absl::StatusOr<EnrollmentData> ParseEnrollmentDataJson(absl::string_view json) {
  KSEF_ASSIGN_OR_RETURN(JsonValue root, ParseJson(json, "enrollment data"));
  if (!root.is_object()) {
    return absl::InvalidArgumentError("enrollment data: expected one JSON object");
  }
  EnrollmentData data;
  std::optional<std::string> common_name;
  std::optional<std::string> country_name;
  const std::pair<absl::string_view, std::optional<std::string>*> fields[] = {
      {"commonName", &common_name},
      {"surname", &data.surname},
      {"givenName", &data.given_name},
      {"organizationName", &data.organization_name},
      {"organizationIdentifier", &data.organization_identifier},
      {"countryName", &country_name},
      {"serialNumber", &data.serial_number},
      {"uniqueIdentifier", &data.unique_identifier},
  };
  std::set<std::string> seen;
  for (auto& [key, value] : root.members) {
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("enrollment data: duplicate key \"", key, "\""));
    }
    if (value.type != JsonValue::Type::kString && value.type != JsonValue::Type::kNull) {
      return absl::InvalidArgumentError(absl::StrCat(
          "enrollment data: value of \"", key,
          "\" must be a string or null (numbers, booleans, objects and arrays are not accepted)"));
    }
    for (const auto& [name, target] : fields) {
      if (key == name) {
        if (value.is_string()) {
          *target = std::move(value.text);
        } else {
          target->reset();
        }
      }
    }
  }
  KSEF_RETURN_IF_ERROR(RequireNonEmpty(common_name, seen.contains("commonName"), "commonName"));
  KSEF_RETURN_IF_ERROR(RequireNonEmpty(country_name, seen.contains("countryName"), "countryName"));
  data.common_name = std::move(*common_name);
  data.country_name = std::move(*country_name);
  KSEF_RETURN_IF_ERROR(ValidateEnrollmentData(data, FieldNaming::kJsonKeys, "enrollment data: "));
  return data;
}

}  // namespace ksef::csr
