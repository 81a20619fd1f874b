#include "service/enrollment.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "crypto/private_key_file.h"
#include "crypto/public_key.h"
#include "formats/cert/certificate_info.h"
#include "formats/csr/csr_builder.h"
#include "formats/csr/enrollment_request.h"

namespace ksef::service {
namespace {

constexpr int kDefaultSelfSignedDays = 365;
constexpr int kMaxSelfSignedDays = 730;

cert::CertificateType TypeFor(KeyPurpose purpose) {
  return purpose == KeyPurpose::kAuthentication ? cert::CertificateType::kAuthentication
                                                : cert::CertificateType::kOffline;
}

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// The checks of an issued certificate against the key it is imported for.
absl::Status CheckIssuedCertificate(const cert::CertificateInfo& info, const KeyRecord& key,
                                    absl::Time now) {
  KSEF_RETURN_IF_ERROR(
      cert::CheckCertificateMatchesKey(info, key.public_key_der, TypeFor(key.purpose)));
  if (info.not_after <= now) {
    return absl::InvalidArgumentError(absl::StrCat("certificate expired at ",
                                                   FormatUtc(info.not_after),
                                                   "; import a current certificate"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Enrollment::CheckCsrRequest(const csr::EnrollmentData& data,
                                         const std::string& certificate_name) {
  KSEF_RETURN_IF_ERROR(
      csr::ValidateEnrollmentData(data, csr::FieldNaming::kProtoFields, "enrollment_data."));
  if (!certificate_name.empty()) {
    KSEF_RETURN_IF_ERROR(csr::ValidateCertificateName(certificate_name, "certificate_name"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CsrResult> Enrollment::GenerateCsr(const SigningPermit& permit,
                                                  const csr::EnrollmentData& data,
                                                  const std::string& certificate_name,
                                                  std::optional<absl::Time> valid_from) {
  // Every value that reaches the CSR or the request JSON is checked before
  // the key signs, so nothing is signed from a bad value.
  KSEF_RETURN_IF_ERROR(CheckCsrRequest(data, certificate_name));
  const KeyRecord& key = permit.key();
  std::string cert_name =
      certificate_name.empty() ? absl::StrCat("ksef-hsm ", key.key_id) : certificate_name;
  CsrResult result;
  result.key_name = key.name();
  KSEF_ASSIGN_OR_RETURN(result.der, csr::BuildCsrDer(data, permit.signer()));
  result.base64 = csr::CsrToBase64(result.der);
  result.pem = csr::CsrToPem(result.der);
  csr::EnrollmentRequest request;
  request.certificate_name = cert_name;
  request.certificate_type = cert::CertificateTypeName(TypeFor(key.purpose));
  request.csr_base64 = result.base64;
  request.valid_from = valid_from;
  KSEF_ASSIGN_OR_RETURN(result.request_json, csr::BuildEnrollmentRequestJson(request));
  LogInfo("CSR built for key ", result.key_name, " (", cert_name, ")");
  return result;
}

absl::StatusOr<KeyRecord> Enrollment::ImportCertificate(absl::string_view name,
                                                        absl::string_view input,
                                                        absl::string_view serial_hex) {
  KSEF_ASSIGN_OR_RETURN(std::string der, cert::DecodeCertificateInput(input, serial_hex));
  KSEF_ASSIGN_OR_RETURN(cert::CertificateInfo info, cert::ParseCertificateDer(der));
  absl::Time now = clock_();
  return keys_->AttachCertificate(name, der, [&](const KeyRecord& key) {
    return CheckIssuedCertificate(info, key, now);
  });
}

absl::Status Enrollment::CheckSelfSignedRequest(const SelfSignedParams& params) {
  int days = params.validity_days == 0 ? kDefaultSelfSignedDays : params.validity_days;
  if (days < 1 || days > kMaxSelfSignedDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("validity_days must be between 1 and ", kMaxSelfSignedDays));
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyRecord> Enrollment::IssueSelfSigned(const SigningPermit& permit,
                                                      const SelfSignedParams& params) {
  KSEF_RETURN_IF_ERROR(CheckSelfSignedRequest(params));
  const int days = params.validity_days == 0 ? kDefaultSelfSignedDays : params.validity_days;
  const KeyRecord& key = permit.key();
  cert::SelfSignedSubject subject;
  subject.form = params.form;
  switch (key.subject_type) {
    case SubjectType::kNip:
      subject.identifier_type = cert::SelfSignedSubject::IdentifierType::kNip;
      break;
    case SubjectType::kPesel:
      if (params.form == cert::SelfSignedForm::kSeal) {
        return absl::FailedPreconditionError(absl::StrCat(
            "key ", key.name(),
            " belongs to a PESEL subject; a SEAL certificate needs a NIP (use PERSONAL)"));
      }
      subject.identifier_type = cert::SelfSignedSubject::IdentifierType::kPesel;
      break;
    case SubjectType::kCertificateFingerprint:
      return absl::FailedPreconditionError(absl::StrCat(
          "key ", key.name(),
          " belongs to a certificate-fingerprint subject; a self-signed TEST certificate "
          "carries a NIP or PESEL"));
  }
  subject.identifier = key.subject_value;
  subject.common_name = params.common_name;
  subject.given_name = params.given_name;
  subject.surname = params.surname;
  subject.organization_name = params.organization_name;
  absl::Time now = clock_();
  // Back-date by a minute so a verifier with a slightly slow clock accepts it.
  KSEF_ASSIGN_OR_RETURN(
      std::string der,
      cert::IssueSelfSigned(subject, TypeFor(key.purpose), now - absl::Minutes(1),
                            absl::Hours(24) * days, permit.signer()));
  KSEF_ASSIGN_OR_RETURN(cert::CertificateInfo info, cert::ParseCertificateDer(der));
  return keys_->AttachCertificate(key.name(), der, [&](const KeyRecord& current) {
    return CheckIssuedCertificate(info, current, now);
  });
}

absl::StatusOr<KeyRecord> Enrollment::ImportKey(const ImportKeyParams& params,
                                                absl::string_view key_file,
                                                const SecureString& password,
                                                absl::string_view certificate_input) {
  if (key_file.empty()) return absl::InvalidArgumentError("private_key is empty");
  if (certificate_input.empty()) {
    return absl::InvalidArgumentError(
        "certificate is empty: give the certificate issued for this key");
  }
  KSEF_ASSIGN_OR_RETURN(std::string der, cert::DecodeCertificateInput(certificate_input, ""));
  KSEF_ASSIGN_OR_RETURN(cert::CertificateInfo info, cert::ParseCertificateDer(der));
  KSEF_ASSIGN_OR_RETURN(EvpPkeyPtr key, crypto::DecodePrivateKeyFile(key_file, password));
  KSEF_ASSIGN_OR_RETURN(std::string spki, crypto::PublicKeyDerOf(key.get()));
  KeyRecord probe;
  probe.public_key_der = spki;
  probe.purpose = params.purpose;
  absl::Status fits = CheckIssuedCertificate(info, probe, clock_());
  if (!fits.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the key file and certificate do not fit: ", fits.message()));
  }
  return keys_->ImportKey(params, key.get(), der);
}

}  // namespace ksef::service
