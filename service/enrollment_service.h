// EnrollmentServiceImpl: the ksef.hsm.v1.EnrollmentService gRPC API over
// Enrollment. Converts protos to the domain model and back.
// Thread-safe (gRPC calls it from many threads).
#ifndef KSEF_SERVICE_ENROLLMENT_SERVICE_H_
#define KSEF_SERVICE_ENROLLMENT_SERVICE_H_

#include "ksef/hsm/v1/enrollment_service.grpc.pb.h"
#include "service/audited_call.h"
#include "service/enrollment.h"
#include "service/signing_gate.h"

namespace ksef::service {

class EnrollmentServiceImpl final : public ksef::hsm::v1::EnrollmentService::Service {
 public:
  // Every call is authorized and audited through `guard`; `keys` resolves the
  // key a call is about (for its subject) before anything is done with it.
  EnrollmentServiceImpl(Enrollment* enrollment, KeyManager* keys, const AccessGuard* guard,
                        const SigningGate* gate)
      : enrollment_(enrollment), keys_(keys), guard_(guard), gate_(gate) {}

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
  // Admit the enrollment role and get the key (a missing one refused as
  // call.LookupFailed says).
  absl::StatusOr<KeyRecord> FindKey(AuditedCall& call, const std::string& name);
  // FindKey, then SigningGate::Authorize for the enrollment role: the first
  // step of the RPCs that sign with the key (CSR, self-signed certificate).
  absl::StatusOr<AuthorizedKey> AuthorizeSigningKey(AuditedCall& call, const std::string& name);

  Enrollment* const enrollment_;
  KeyManager* const keys_;
  const AccessGuard* const guard_;
  const SigningGate* const gate_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_ENROLLMENT_SERVICE_H_
