#include "ksef/csr/enrollment_data.h"

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/status_macros.h"
#include "ksef/csr/asn1_der.h"

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
  return data;
}

}  // namespace ksef::csr
