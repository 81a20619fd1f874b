#include "service/auth_service.h"

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "formats/cert/certificate_info.h"
#include "formats/xades/auth_token_request.h"
#include "formats/xades/xades_signer.h"
#include "service/context_identifier.h"
#include "service/key_service.h"
#include "service/signing_key_choice.h"

namespace ksef::service {
namespace {

namespace pb = ::ksef::hsm::v1;

// `context`: the request's context_identifier, already read.
absl::StatusOr<xades::AuthTokenRequest> FromProto(const pb::SignAuthTokenRequest& req,
                                                  const RequestContext& context) {
  xades::AuthTokenRequest out;
  out.challenge = req.challenge();
  out.context_identifier = ToXades(context);
  switch (req.subject_identifier_type()) {
    case pb::SUBJECT_IDENTIFIER_TYPE_UNSPECIFIED:
    case pb::CERTIFICATE_SUBJECT:
      out.subject_identifier_type = xades::SubjectIdentifierType::kCertificateSubject;
      break;
    case pb::CERTIFICATE_FINGERPRINT:
      out.subject_identifier_type = xades::SubjectIdentifierType::kCertificateFingerprint;
      break;
    default:
      return absl::InvalidArgumentError("subject_identifier_type is not a known value");
  }
  switch (req.schema_version()) {
    case pb::AUTH_SCHEMA_VERSION_UNSPECIFIED:
    case pb::V2_0:
      out.schema_version = xades::AuthSchemaVersion::kV2_0;
      break;
    case pb::V2_1:
      out.schema_version = xades::AuthSchemaVersion::kV2_1;
      break;
    default:
      return absl::InvalidArgumentError("schema_version is not a known value");
  }
  if (req.has_allowed_ips()) {
    xades::AllowedIps ips;
    ips.ip4_addresses.assign(req.allowed_ips().ip4_addresses().begin(),
                             req.allowed_ips().ip4_addresses().end());
    ips.ip4_ranges.assign(req.allowed_ips().ip4_ranges().begin(),
                          req.allowed_ips().ip4_ranges().end());
    ips.ip4_masks.assign(req.allowed_ips().ip4_masks().begin(),
                         req.allowed_ips().ip4_masks().end());
    out.allowed_ips = std::move(ips);
  }
  KSEF_RETURN_IF_ERROR(xades::Validate(out));
  return out;
}

}  // namespace

grpc::Status AuthServiceImpl::SignAuthToken(grpc::ServerContext* context,
                                            const pb::SignAuthTokenRequest* req,
                                            pb::SignedAuthToken* resp) {
  AuditedCall call(*guard_, *context, "SignAuthToken");
  return call.Finish([&]() -> absl::Status {
    if (!req->name().empty()) {
      call.RequestKey(req->name());
    } else if (auto type = SubjectTypeFromProto(req->subject().type()); type.ok()) {
      call.RequestSubject(*type, req->subject().value());
    }
    KSEF_RETURN_IF_ERROR(call.Admit({Role::kAuthSigning}));
    KSEF_ASSIGN_OR_RETURN(KeyRecord key, ChooseSigningKey(
                              call, *keys_, req->name(), req->subject(), Role::kAuthSigning,
                              KeyPurpose::kAuthentication,
                              "name: give the key (keys/{id}), or a subject to use its active "
                              "Authentication key"));
    KSEF_ASSIGN_OR_RETURN(AuthorizedKey authorized,
                          gate_->Authorize(call, std::move(key), Role::kAuthSigning));
    KSEF_ASSIGN_OR_RETURN(RequestContext request_context,
                          ContextFromProto(req->context_identifier()));
    KSEF_ASSIGN_OR_RETURN(xades::AuthTokenRequest document, FromProto(*req, request_context));
    call.SetContext(ContextText(request_context));
    KSEF_ASSIGN_OR_RETURN(SigningPermit permit,
                          gate_->Permit(std::move(authorized), KeyPurpose::kAuthentication));
    const CachedCertificate& certificate = *permit.certificate();
    KSEF_ASSIGN_OR_RETURN(
        xades::SignedAuthTokenRequest signed_doc,
        xades::SignAuthTokenRequest(document, certificate.xades, permit.signer()));
    // The key signed SHA-256(canonical SignedInfo); the event keeps that digest.
    call.SetSignedSha256(HexUpper(signed_doc.signed_info_sha256));
    resp->set_name(permit.key().name());
    resp->set_xml(signed_doc.xml);
    resp->set_document_sha256(HexUpper(signed_doc.unsigned_sha256));
    resp->set_signed_info_sha256(HexUpper(signed_doc.signed_info_sha256));
    const int64_t micros = absl::ToUnixMicros(signed_doc.signing_time);
    resp->mutable_signing_time()->set_seconds(micros / 1000000);
    resp->mutable_signing_time()->set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
    resp->set_certificate_serial_number(certificate.info.serial_hex);
    resp->set_certificate_sha256_fingerprint(certificate.info.sha256_fingerprint);
    return absl::OkStatus();
  }());
}

}  // namespace ksef::service
