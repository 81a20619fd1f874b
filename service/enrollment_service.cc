#include "service/enrollment_service.h"

#include "absl/strings/str_cat.h"
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

grpc::Status EnrollmentServiceImpl::GenerateCsr(grpc::ServerContext*,
                                                const pb::GenerateCsrRequest* req,
                                                pb::GenerateCsrResponse* resp) {
  csr::EnrollmentData data;
  switch (req->enrollment_case()) {
    case pb::GenerateCsrRequest::kEnrollmentData:
      data = FromProto(req->enrollment_data());
      break;
    case pb::GenerateCsrRequest::kEnrollmentDataJson: {
      auto parsed = csr::ParseEnrollmentDataJson(req->enrollment_data_json());
      if (!parsed.ok()) return ToGrpcStatus(parsed.status());
      data = std::move(*parsed);
      break;
    }
    default:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "give enrollment_data or enrollment_data_json (the body of GET "
                          "/certificates/enrollments/data)");
  }
  std::optional<absl::Time> valid_from;
  if (req->has_valid_from()) valid_from = FromProto(req->valid_from());
  auto result = enrollment_->GenerateCsr(req->name(), data, req->certificate_name(), valid_from);
  if (!result.ok()) return ToGrpcStatus(result.status());
  resp->set_name(result->key_name);
  resp->set_csr_der(result->der);
  resp->set_csr_base64(result->base64);
  resp->set_csr_pem(result->pem);
  resp->set_enrollment_request_json(result->request_json);
  return grpc::Status::OK;
}

grpc::Status EnrollmentServiceImpl::ImportCertificate(grpc::ServerContext*,
                                                      const pb::ImportCertificateRequest* req,
                                                      pb::Key* resp) {
  if (req->certificate().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "certificate is empty: give the certificate KSeF issued (Base64 DER, "
                        "PEM or the /certificates/retrieve response)");
  }
  auto record = enrollment_->ImportCertificate(req->name(), req->certificate(),
                                               req->certificate_serial_number());
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, resp);
  return grpc::Status::OK;
}

grpc::Status EnrollmentServiceImpl::IssueSelfSignedCertificate(
    grpc::ServerContext*, const pb::IssueSelfSignedCertificateRequest* req, pb::Key* resp) {
  SelfSignedParams params;
  switch (req->form()) {
    case pb::IssueSelfSignedCertificateRequest::PERSONAL:
      params.form = cert::SelfSignedForm::kPersonal;
      break;
    case pb::IssueSelfSignedCertificateRequest::SEAL:
      params.form = cert::SelfSignedForm::kSeal;
      break;
    default:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "form must be PERSONAL (a person: given name, surname) or SEAL (an "
                          "organization)");
  }
  params.common_name = req->common_name();
  params.given_name = req->given_name();
  params.surname = req->surname();
  params.organization_name = req->organization_name();
  params.validity_days = req->validity_days();
  auto record = enrollment_->IssueSelfSigned(req->name(), params);
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, resp);
  return grpc::Status::OK;
}

grpc::Status EnrollmentServiceImpl::ImportKey(grpc::ServerContext*,
                                              const pb::ImportKeyRequest* req, pb::Key* resp) {
  ImportKeyParams params;
  params.key_id = req->key_id();
  auto subject_type = SubjectTypeFromProto(req->subject().type());
  if (!subject_type.ok()) return ToGrpcStatus(subject_type.status());
  params.subject_type = *subject_type;
  params.subject_value = req->subject().value();
  auto purpose = PurposeFromProto(req->purpose());
  if (!purpose.ok()) return ToGrpcStatus(purpose.status());
  params.purpose = *purpose;
  SecureString password(std::string(req->password()));
  auto record =
      enrollment_->ImportKey(params, req->private_key(), password, req->certificate());
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, resp);
  return grpc::Status::OK;
}

}  // namespace ksef::service
