// EnrollmentServiceImpl: the ksef.hsm.v1.EnrollmentService gRPC API over
// Enrollment. Converts protos to the domain model and back.
// Thread-safe (gRPC calls it from many threads).
#ifndef KSEF_SERVICE_ENROLLMENT_SERVICE_H_
#define KSEF_SERVICE_ENROLLMENT_SERVICE_H_

#include "ksef/hsm/v1/enrollment_service.grpc.pb.h"
#include "service/audited_call.h"
#include "service/enrollment.h"

namespace ksef::service {

class EnrollmentServiceImpl final : public ksef::hsm::v1::EnrollmentService::Service {
 public:
  // Every call is authorized and audited through `guard`; `keys` resolves the
  // key a call is about (for its subject) before anything is done with it.
  EnrollmentServiceImpl(Enrollment* enrollment, KeyManager* keys, const AccessGuard* guard)
      : enrollment_(enrollment), keys_(keys), guard_(guard) {}

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
  // Get the key, record it, authorize the enrollment role, check the audit log.
  absl::StatusOr<KeyRecord> AuthorizeKey(AuditedCall& call, const std::string& name);

  Enrollment* const enrollment_;
  KeyManager* const keys_;
  const AccessGuard* const guard_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_ENROLLMENT_SERVICE_H_
