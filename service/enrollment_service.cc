#include "service/enrollment_service.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "formats/csr/asn1_der.h"
#include "service/grpc_status.h"
#include "service/key_service.h"

namespace ksef::service {
namespace {

namespace pb = ::ksef::hsm::v1;

csr::EnrollmentData FromProto(const pb::EnrollmentData& d) {
  csr::EnrollmentData out;
  out.common_name = d.common_name();
  out.country_name = d.country_name();
  if (d.has_surname()) out.surname = d.surname();
  if (d.has_given_name()) out.given_name = d.given_name();
  if (d.has_organization_name()) out.organization_name = d.organization_name();
  if (d.has_organization_identifier()) out.organization_identifier = d.organization_identifier();
  if (d.has_serial_number()) out.serial_number = d.serial_number();
  if (d.has_unique_identifier()) out.unique_identifier = d.unique_identifier();
  return out;
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace

absl::StatusOr<KeyRecord> EnrollmentServiceImpl::FindKey(AuditedCall& call,
                                                          const std::string& name) {
  call.RequestKey(name);
  KSEF_RETURN_IF_ERROR(call.Admit({Role::kEnrollment}));
  absl::StatusOr<KeyRecord> found = keys_->Get(name);
  if (!found.ok()) return call.LookupFailed(found.status());
  return found;
}

absl::StatusOr<AuthorizedKey> EnrollmentServiceImpl::AuthorizeSigningKey(
    AuditedCall& call, const std::string& name) {
  KSEF_ASSIGN_OR_RETURN(KeyRecord key, FindKey(call, name));
  return gate_->Authorize(call, std::move(key), Role::kEnrollment);
}

grpc::Status EnrollmentServiceImpl::GenerateCsr(grpc::ServerContext* context,
                                                const pb::GenerateCsrRequest* req,
                                                pb::GenerateCsrResponse* resp) {
  AuditedCall call(*guard_, *context, "GenerateCsr");
  return call.Finish([&]() -> absl::Status {
    KSEF_ASSIGN_OR_RETURN(AuthorizedKey authorized, AuthorizeSigningKey(call, req->name()));
    csr::EnrollmentData data;
    switch (req->enrollment_case()) {
      case pb::GenerateCsrRequest::kEnrollmentData:
        data = FromProto(req->enrollment_data());
        break;
      case pb::GenerateCsrRequest::kEnrollmentDataJson: {
        KSEF_ASSIGN_OR_RETURN(data, csr::ParseEnrollmentDataJson(req->enrollment_data_json()));
        break;
      }
      default:
        return absl::InvalidArgumentError(
            "give enrollment_data or enrollment_data_json (the body of GET "
            "/certificates/enrollments/data)");
    }
    std::optional<absl::Time> valid_from;
    if (req->has_valid_from()) valid_from = FromProto(req->valid_from());
    KSEF_RETURN_IF_ERROR(Enrollment::CheckCsrRequest(data, req->certificate_name()));
    KSEF_ASSIGN_OR_RETURN(SigningPermit permit, gate_->PermitEnrollment(std::move(authorized)));
    KSEF_ASSIGN_OR_RETURN(
        CsrResult result,
        enrollment_->GenerateCsr(permit, data, req->certificate_name(), valid_from));
    // What the key signed: the CertificationRequestInfo.
    KSEF_ASSIGN_OR_RETURN(std::string signed_part, csr::FirstDerElement(result.der));
    call.SetSignedBytes(signed_part);
    resp->set_name(result.key_name);
    resp->set_csr_der(result.der);
    resp->set_csr_base64(result.base64);
    resp->set_csr_pem(result.pem);
    resp->set_enrollment_request_json(result.request_json);
    return absl::OkStatus();
  }());
}

grpc::Status EnrollmentServiceImpl::ImportCertificate(grpc::ServerContext* context,
                                                      const pb::ImportCertificateRequest* req,
                                                      pb::Key* resp) {
  AuditedCall call(*guard_, *context, "ImportCertificate");
  return call.Finish([&]() -> absl::Status {
    KSEF_ASSIGN_OR_RETURN(KeyRecord key, FindKey(call, req->name()));
    call.SetKey(key);
    KSEF_RETURN_IF_ERROR(call.Authorize(Role::kEnrollment, ResourceOf(key)));
    KSEF_RETURN_IF_ERROR(call.RequireAuditable());
    if (req->certificate().empty()) {
      return absl::InvalidArgumentError(
          "certificate is empty: give the certificate KSeF issued (Base64 DER, PEM or the "
          "/certificates/retrieve response)");
    }
    KSEF_ASSIGN_OR_RETURN(KeyRecord record,
                          enrollment_->ImportCertificate(req->name(), req->certificate(),
                                                         req->certificate_serial_number()));
    ToProto(record, keys_->certificates(), resp);
    return absl::OkStatus();
  }());
}

grpc::Status EnrollmentServiceImpl::IssueSelfSignedCertificate(
    grpc::ServerContext* context, const pb::IssueSelfSignedCertificateRequest* req,
    pb::Key* resp) {
  AuditedCall call(*guard_, *context, "IssueSelfSignedCertificate");
  return call.Finish([&]() -> absl::Status {
    KSEF_ASSIGN_OR_RETURN(AuthorizedKey authorized, AuthorizeSigningKey(call, req->name()));
    SelfSignedParams params;
    switch (req->form()) {
      case pb::IssueSelfSignedCertificateRequest::PERSONAL:
        params.form = cert::SelfSignedForm::kPersonal;
        break;
      case pb::IssueSelfSignedCertificateRequest::SEAL:
        params.form = cert::SelfSignedForm::kSeal;
        break;
      default:
        return absl::InvalidArgumentError(
            "form must be PERSONAL (a person: given name, surname) or SEAL (an organization)");
    }
    params.common_name = req->common_name();
    params.given_name = req->given_name();
    params.surname = req->surname();
    params.organization_name = req->organization_name();
    params.validity_days = req->validity_days();
    KSEF_RETURN_IF_ERROR(Enrollment::CheckSelfSignedRequest(params));
    KSEF_ASSIGN_OR_RETURN(SigningPermit permit, gate_->PermitEnrollment(std::move(authorized)));
    KSEF_ASSIGN_OR_RETURN(KeyRecord record, enrollment_->IssueSelfSigned(permit, params));
    // What the key signed: the TBSCertificate.
    KSEF_ASSIGN_OR_RETURN(std::string signed_part, csr::FirstDerElement(record.certificate_der));
    call.SetSignedBytes(signed_part);
    ToProto(record, keys_->certificates(), resp);
    return absl::OkStatus();
  }());
}

grpc::Status EnrollmentServiceImpl::ImportKey(grpc::ServerContext* context,
                                              const pb::ImportKeyRequest* req, pb::Key* resp) {
  AuditedCall call(*guard_, *context, "ImportKey");
  return call.Finish([&]() -> absl::Status {
    ImportKeyParams params;
    KSEF_RETURN_IF_ERROR(AdmitNewKey(call, *req, params));
    KSEF_RETURN_IF_ERROR(call.RequireAuditable());
    SecureString password(std::string(req->password()));
    KSEF_ASSIGN_OR_RETURN(
        KeyRecord record,
        enrollment_->ImportKey(params, req->private_key(), password, req->certificate()));
    call.SetKey(record);
    ToProto(record, keys_->certificates(), resp);
    return absl::OkStatus();
  }());
}

}  // namespace ksef::service
