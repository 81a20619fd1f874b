#include "formats/cert/self_signed.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "formats/cert/certificate_builder.h"
#include "formats/csr/name_rules.h"
#include "formats/csr/subject_name.h"
#include "formats/identifiers.h"

namespace ksef::cert {
namespace {

absl::Status Require(const std::string& value, absl::string_view field, absl::string_view form) {
  if (value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is required for a ", form, " certificate"));
  }
  return absl::OkStatus();
}

absl::Status Forbid(const std::string& value, absl::string_view field, absl::string_view form) {
  if (!value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be empty for a ", form, " certificate (ksef.md 2.4)"));
  }
  return absl::OkStatus();
}

// A required value: present, then name_rules.h (bounds, no control
// characters, UTF-8), named as the params name it.
absl::Status RequireValid(const std::string& value, csr::NameAttribute attribute,
                          absl::string_view field, absl::string_view form) {
  KSEF_RETURN_IF_ERROR(Require(value, field, form));
  return csr::ValidateNameValue(attribute, value, field);
}

}  // namespace

absl::StatusOr<csr::EnrollmentData> SelfSignedSubjectData(const SelfSignedSubject& s) {
  using IdType = SelfSignedSubject::IdentifierType;
  if (s.identifier_type == IdType::kNip) {
    KSEF_RETURN_IF_ERROR(ValidateNip(s.identifier, "identifier"));
  } else {
    KSEF_RETURN_IF_ERROR(ValidatePesel(s.identifier, "identifier"));
  }
  KSEF_RETURN_IF_ERROR(
      csr::ValidateNameValue(csr::NameAttribute::kCountryName, s.country_name, "country_name"));
  csr::EnrollmentData data;
  data.common_name = s.common_name;
  data.country_name = s.country_name;
  if (s.form == SelfSignedForm::kPersonal) {
    using csr::NameAttribute;
    KSEF_RETURN_IF_ERROR(
        RequireValid(s.common_name, NameAttribute::kCommonName, "common_name", "personal"));
    KSEF_RETURN_IF_ERROR(
        RequireValid(s.given_name, NameAttribute::kGivenName, "given_name", "personal"));
    KSEF_RETURN_IF_ERROR(RequireValid(s.surname, NameAttribute::kSurname, "surname", "personal"));
    KSEF_RETURN_IF_ERROR(Forbid(s.organization_name, "organization_name", "personal"));
    data.given_name = s.given_name;
    data.surname = s.surname;
    data.serial_number =
        absl::StrCat(s.identifier_type == IdType::kNip ? "TINPL-" : "PNOPL-", s.identifier);
  } else {
    if (s.identifier_type != IdType::kNip) {
      return absl::InvalidArgumentError(
          "identifier: a seal certificate carries a NIP (organizationIdentifier VATPL-<NIP>), "
          "not a PESEL");
    }
    using csr::NameAttribute;
    KSEF_RETURN_IF_ERROR(
        RequireValid(s.common_name, NameAttribute::kCommonName, "common_name", "seal"));
    KSEF_RETURN_IF_ERROR(RequireValid(s.organization_name, NameAttribute::kOrganizationName,
                                      "organization_name", "seal"));
    KSEF_RETURN_IF_ERROR(Forbid(s.given_name, "given_name", "seal"));
    KSEF_RETURN_IF_ERROR(Forbid(s.surname, "surname", "seal"));
    data.organization_name = s.organization_name;
    data.organization_identifier = absl::StrCat("VATPL-", s.identifier);
  }
  return data;
}

absl::StatusOr<std::string> IssueSelfSigned(const SelfSignedSubject& subject,
                                            CertificateType type, absl::Time not_before,
                                            absl::Duration validity, const crypto::Signer& signer) {
  if (validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("validity must be positive");
  }
  KSEF_ASSIGN_OR_RETURN(csr::EnrollmentData data, SelfSignedSubjectData(subject));
  KSEF_ASSIGN_OR_RETURN(std::string name, csr::BuildSubjectNameDer(data));
  CertificateFields fields;
  fields.serial = RandomSerial();
  fields.issuer_name_der = name;
  fields.subject_name_der = name;
  fields.subject_public_key_der = signer.public_key_der();
  fields.not_before = absl::FromUnixSeconds(absl::ToUnixSeconds(not_before));
  fields.not_after = fields.not_before + validity;
  fields.type = type;
  return BuildCertificateDer(fields, signer.public_key_der(), signer);
}

}  // namespace ksef::cert
