#include "formats/xades/auth_token_request.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "formats/auth_fields.h"
#include "xml/text.h"

namespace ksef::xades {

using xml::EscapeXmlText;
namespace {

constexpr size_t kMaxIpsPerKind = 10;  // maxOccurs in both XSD versions

using FieldValidator = absl::Status (*)(absl::string_view, absl::string_view);

absl::Status ValidateList(const std::vector<std::string>& values, absl::string_view field,
                          FieldValidator validate) {
  if (values.size() > kMaxIpsPerKind) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": at most ", kMaxIpsPerKind,
                                                   " entries are allowed, got ", values.size()));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    KSEF_RETURN_IF_ERROR(validate(values[i], absl::StrCat(field, "[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status ValidateContext(const ContextIdentifier& c) {
  int set = c.nip.has_value() + c.internal_id.has_value() + c.nip_vat_ue.has_value() +
            c.peppol_id.has_value();
  if (set != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "context_identifier: exactly one of nip, internal_id, nip_vat_ue, peppol_id must be set, "
        "got ",
        set));
  }
  if (c.nip) return ValidateContextNip(*c.nip, "context_identifier.nip");
  if (c.internal_id) return ValidateInternalId(*c.internal_id, "context_identifier.internal_id");
  if (c.nip_vat_ue) return ValidateNipVatUe(*c.nip_vat_ue, "context_identifier.nip_vat_ue");
  return ValidatePeppolId(*c.peppol_id, "context_identifier.peppol_id");
}

void AppendElement(std::string& out, absl::string_view indent, absl::string_view name,
                   absl::string_view text) {
  absl::StrAppend(&out, "\n", indent, "<", name, ">", EscapeXmlText(text), "</", name, ">");
}

void AppendList(std::string& out, absl::string_view name, const std::vector<std::string>& values) {
  for (const std::string& v : values) AppendElement(out, "      ", name, v);
}

}  // namespace

const char* AuthTokenNamespace(AuthSchemaVersion version) {
  return version == AuthSchemaVersion::kV2_1 ? "http://ksef.mf.gov.pl/auth/token/2.1"
                                             : "http://ksef.mf.gov.pl/auth/token/2.0";
}

const char* SubjectIdentifierTypeName(SubjectIdentifierType type) {
  return type == SubjectIdentifierType::kCertificateFingerprint ? "certificateFingerprint"
                                                                : "certificateSubject";
}

absl::Status Validate(const AuthTokenRequest& request) {
  KSEF_RETURN_IF_ERROR(ValidateChallenge(request.challenge, "challenge"));
  KSEF_RETURN_IF_ERROR(ValidateContext(request.context_identifier));
  if (request.subject_identifier_type != SubjectIdentifierType::kCertificateSubject &&
      request.subject_identifier_type != SubjectIdentifierType::kCertificateFingerprint) {
    return absl::InvalidArgumentError("subject_identifier_type: unknown value");
  }
  if (request.allowed_ips) {
    const AllowedIps& ips = *request.allowed_ips;
    // An empty AllowedIps is schema-valid, but it can only be a caller
    // mistake: "no policy" is allowed_ips = nullopt.
    if (ips.ip4_addresses.empty() && ips.ip4_ranges.empty() && ips.ip4_masks.empty()) {
      return absl::InvalidArgumentError(
          "allowed_ips: give at least one address, range or mask, or no policy at all");
    }
    KSEF_RETURN_IF_ERROR(
        ValidateList(ips.ip4_addresses, "allowed_ips.ip4_address", ValidateIp4Address));
    KSEF_RETURN_IF_ERROR(ValidateList(ips.ip4_ranges, "allowed_ips.ip4_range", ValidateIp4Range));
    KSEF_RETURN_IF_ERROR(ValidateList(ips.ip4_masks, "allowed_ips.ip4_mask", ValidateIp4Mask));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SerializeAuthTokenRequest(const AuthTokenRequest& request) {
  KSEF_RETURN_IF_ERROR(Validate(request));
  std::string out = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<AuthTokenRequest xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns=\"",
      AuthTokenNamespace(request.schema_version), "\">");
  AppendElement(out, "  ", "Challenge", request.challenge);
  out += "\n  <ContextIdentifier>";
  const ContextIdentifier& c = request.context_identifier;
  if (c.nip) AppendElement(out, "    ", "Nip", *c.nip);
  if (c.internal_id) AppendElement(out, "    ", "InternalId", *c.internal_id);
  if (c.nip_vat_ue) AppendElement(out, "    ", "NipVatUe", *c.nip_vat_ue);
  if (c.peppol_id) AppendElement(out, "    ", "PeppolId", *c.peppol_id);
  out += "\n  </ContextIdentifier>";
  AppendElement(out, "  ", "SubjectIdentifierType",
                SubjectIdentifierTypeName(request.subject_identifier_type));
  if (request.allowed_ips) {
    out += "\n  <AuthorizationPolicy>\n    <AllowedIps>";
    AppendList(out, "Ip4Address", request.allowed_ips->ip4_addresses);
    AppendList(out, "Ip4Range", request.allowed_ips->ip4_ranges);
    AppendList(out, "Ip4Mask", request.allowed_ips->ip4_masks);
    out += "\n    </AllowedIps>\n  </AuthorizationPolicy>";
  }
  out += "\n</AuthTokenRequest>";
  return out;
}

}  // namespace ksef::xades
