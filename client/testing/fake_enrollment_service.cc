#include "client/testing/fake_enrollment_service.h"

#include "absl/strings/strip.h"
#include "client/testing/fake_key_service.h"

namespace ksef::client::testing {
namespace {

namespace v1 = ::ksef::hsm::v1;

std::string IdOf(const std::string& name) { return std::string(absl::StripPrefix(name, "keys/")); }

}  // namespace

v1::GenerateCsrRequest FakeEnrollmentService::last_csr_request() {
  absl::MutexLock lock(&mu_);
  return csr_;
}

v1::ImportCertificateRequest FakeEnrollmentService::last_import_cert_request() {
  absl::MutexLock lock(&mu_);
  return import_cert_;
}

v1::IssueSelfSignedCertificateRequest FakeEnrollmentService::last_self_signed_request() {
  absl::MutexLock lock(&mu_);
  return self_signed_;
}

v1::ImportKeyRequest FakeEnrollmentService::last_import_key_request() {
  absl::MutexLock lock(&mu_);
  return import_key_;
}

int FakeEnrollmentService::calls() {
  absl::MutexLock lock(&mu_);
  return calls_;
}

grpc::Status FakeEnrollmentService::GenerateCsr(grpc::ServerContext*,
                                                const v1::GenerateCsrRequest* request,
                                                v1::GenerateCsrResponse* response) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  csr_ = *request;
  if (request->name() == "keys/missing") {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "key keys/missing not found");
  }
  response->set_name(request->name());
  response->set_csr_der(std::string(kCsrDer, sizeof(kCsrDer) - 1));
  response->set_csr_base64(kCsrBase64);
  response->set_csr_pem(kCsrPem);
  response->set_enrollment_request_json(kEnrollmentJson);
  return grpc::Status::OK;
}

grpc::Status FakeEnrollmentService::ImportCertificate(grpc::ServerContext*,
                                                      const v1::ImportCertificateRequest* request,
                                                      v1::Key* key) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  import_cert_ = *request;
  *key = FakeKeyService::MakeKey(IdOf(request->name()));
  key->set_origin(v1::GENERATED);
  return grpc::Status::OK;
}

grpc::Status FakeEnrollmentService::IssueSelfSignedCertificate(
    grpc::ServerContext*, const v1::IssueSelfSignedCertificateRequest* request, v1::Key* key) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  self_signed_ = *request;
  *key = FakeKeyService::MakeKey(IdOf(request->name()));
  key->set_origin(v1::GENERATED);
  key->mutable_certificate()->set_subject("CN=" + request->common_name());
  key->mutable_certificate()->set_issuer("CN=" + request->common_name());
  return grpc::Status::OK;
}

grpc::Status FakeEnrollmentService::ImportKey(grpc::ServerContext*,
                                              const v1::ImportKeyRequest* request, v1::Key* key) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  import_key_ = *request;
  *key = FakeKeyService::MakeKey(request->key_id().empty() ? "imported-1" : request->key_id());
  *key->mutable_subject() = request->subject();
  key->set_purpose(request->purpose());
  key->set_origin(v1::IMPORTED);
  key->mutable_attestation()->set_local(false);
  return grpc::Status::OK;
}

}  // namespace ksef::client::testing
