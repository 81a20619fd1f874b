#include "formats/csr/enrollment_request.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "formats/csr/name_rules.h"

namespace ksef::csr {
namespace {

constexpr size_t kMinCertificateName = 5;    // ksef.md 4.5
constexpr size_t kMaxCertificateName = 100;  // ksef.md 4.5

bool IsAllowedNameChar(uint32_t cp) {
  if (cp < 0x80) {
    const char c = static_cast<char>(cp);
    return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == ' ';
  }
  // ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ
  static constexpr uint32_t kPolish[] = {0x105, 0x107, 0x119, 0x142, 0x144, 0x0f3,
                                         0x15b, 0x17a, 0x17c, 0x104, 0x106, 0x118,
                                         0x141, 0x143, 0x0d3, 0x15a, 0x179, 0x17b};
  for (uint32_t p : kPolish) {
    if (cp == p) return true;
  }
  return false;
}

bool IsBase64(absl::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '/' && c != '=') return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateCertificateName(absl::string_view name, absl::string_view field) {
  KSEF_RETURN_IF_ERROR(ValidateText(name, field, kMinCertificateName, kMaxCertificateName));
  size_t position = 0;
  for (size_t pos = 0; pos < name.size();) {
    std::optional<uint32_t> cp = DecodeUtf8(name, &pos);  // valid: checked above
    ++position;
    if (!cp.has_value() || !IsAllowedNameChar(*cp)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": character ", position,
          " is not allowed; use only letters (a-z, A-Z, Polish letters), digits, space, '_' "
          "and '-' (KSeF's certificateName rule)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BuildEnrollmentRequestJson(const EnrollmentRequest& request) {
  KSEF_RETURN_IF_ERROR(ValidateCertificateName(request.certificate_name, "certificate_name"));
  if (request.certificate_type != "Authentication" && request.certificate_type != "Offline") {
    return absl::InvalidArgumentError("certificate_type: must be Authentication or Offline");
  }
  if (!IsBase64(request.csr_base64)) {
    return absl::InvalidArgumentError("csr: must be standard Base64 of the DER CSR");
  }
  std::string json =
      absl::StrCat("{\"certificateName\":\"", request.certificate_name, "\",\"certificateType\":\"",
                   request.certificate_type, "\",\"csr\":\"", request.csr_base64, "\"");
  if (request.valid_from.has_value()) {
    absl::StrAppend(
        &json, ",\"validFrom\":\"",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *request.valid_from, absl::UTCTimeZone()), "\"");
  }
  absl::StrAppend(&json, "}");
  return json;
}

}  // namespace ksef::csr
