// Test-only: an EnrollmentService that records the requests it gets and
// answers with canned replies, for the client tests. FakeServer
// (fake_server.h) runs it beside the fake KeyService.
#ifndef KSEF_CLIENT_TESTING_FAKE_ENROLLMENT_SERVICE_H_
#define KSEF_CLIENT_TESTING_FAKE_ENROLLMENT_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ksef/hsm/v1/enrollment_service.grpc.pb.h"

namespace ksef::client::testing {

class FakeEnrollmentService final : public ::ksef::hsm::v1::EnrollmentService::Service {
 public:
  // The canned GenerateCsr reply (its `name` is the request's).
  static constexpr char kCsrDer[] = "\x30\x82\x01\x0a\xde\xad\xbe\xef";  // 8 bytes
  static constexpr char kCsrBase64[] = "MIIBCt6tvu8=";
  static constexpr char kCsrPem[] =
      "-----BEGIN CERTIFICATE REQUEST-----\nMIIBCt6tvu8=\n-----END CERTIFICATE REQUEST-----\n";
  static constexpr char kEnrollmentJson[] =
      "{\"certificateName\":\"ksef-hsm acme-auth-1\",\"certificateType\":\"Authentication\","
      "\"csr\":\"MIIBCt6tvu8=\"}";

  ::ksef::hsm::v1::GenerateCsrRequest last_csr_request();
  ::ksef::hsm::v1::ImportCertificateRequest last_import_cert_request();
  ::ksef::hsm::v1::IssueSelfSignedCertificateRequest last_self_signed_request();
  ::ksef::hsm::v1::ImportKeyRequest last_import_key_request();
  // Calls of any method so far.
  int calls();

  grpc::Status GenerateCsr(grpc::ServerContext*, const ::ksef::hsm::v1::GenerateCsrRequest* request,
                           ::ksef::hsm::v1::GenerateCsrResponse* response) override;
  grpc::Status ImportCertificate(grpc::ServerContext*,
                                 const ::ksef::hsm::v1::ImportCertificateRequest* request,
                                 ::ksef::hsm::v1::Key* key) override;
  grpc::Status IssueSelfSignedCertificate(
      grpc::ServerContext*, const ::ksef::hsm::v1::IssueSelfSignedCertificateRequest* request,
      ::ksef::hsm::v1::Key* key) override;
  grpc::Status ImportKey(grpc::ServerContext*, const ::ksef::hsm::v1::ImportKeyRequest* request,
                         ::ksef::hsm::v1::Key* key) override;

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  ::ksef::hsm::v1::GenerateCsrRequest csr_ ABSL_GUARDED_BY(mu_);
  ::ksef::hsm::v1::ImportCertificateRequest import_cert_ ABSL_GUARDED_BY(mu_);
  ::ksef::hsm::v1::IssueSelfSignedCertificateRequest self_signed_ ABSL_GUARDED_BY(mu_);
  ::ksef::hsm::v1::ImportKeyRequest import_key_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ksef::client::testing

#endif  // KSEF_CLIENT_TESTING_FAKE_ENROLLMENT_SERVICE_H_
