// EnrollmentServiceImpl: the ksef.hsm.v1.EnrollmentService gRPC API over
// Enrollment. Converts protos to the domain model and back.
// Thread-safe (gRPC calls it from many threads).
#ifndef KSEF_SERVICE_ENROLLMENT_SERVICE_H_
#define KSEF_SERVICE_ENROLLMENT_SERVICE_H_

#include "ksef/hsm/v1/enrollment_service.grpc.pb.h"
#include "service/enrollment.h"

namespace ksef::service {

class EnrollmentServiceImpl final : public ksef::hsm::v1::EnrollmentService::Service {
 public:
  explicit EnrollmentServiceImpl(Enrollment* enrollment) : enrollment_(enrollment) {}

  grpc::Status GenerateCsr(grpc::ServerContext*, const ksef::hsm::v1::GenerateCsrRequest*,
                           ksef::hsm::v1::GenerateCsrResponse*) override;
  grpc::Status ImportCertificate(grpc::ServerContext*,
                                 const ksef::hsm::v1::ImportCertificateRequest*,
                                 ksef::hsm::v1::Key*) override;
  grpc::Status IssueSelfSignedCertificate(
      grpc::ServerContext*, const ksef::hsm::v1::IssueSelfSignedCertificateRequest*,
      ksef::hsm::v1::Key*) override;
  grpc::Status ImportKey(grpc::ServerContext*, const ksef::hsm::v1::ImportKeyRequest*,
                         ksef::hsm::v1::Key*) override;

 private:
  Enrollment* const enrollment_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_ENROLLMENT_SERVICE_H_
