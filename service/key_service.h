// KeyServiceImpl: the ksef.hsm.v1.KeyService gRPC API over KeyManager.
// Converts protos to the domain model and back; all rules live in KeyManager.
// Thread-safe (gRPC calls it from many threads).
#ifndef KSEF_SERVICE_KEY_SERVICE_H_
#define KSEF_SERVICE_KEY_SERVICE_H_

#include "common/status_macros.h"
#include "ksef/hsm/v1/key_service.grpc.pb.h"
#include "service/audited_call.h"
#include "service/key_manager.h"
#include "service/key_naming.h"

namespace ksef::service {

class KeyServiceImpl final : public ksef::hsm::v1::KeyService::Service {
 public:
  // Every call is authorized and audited through `guard`.
  KeyServiceImpl(KeyManager* keys, const AccessGuard* guard) : keys_(keys), guard_(guard) {}

  grpc::Status CreateKey(grpc::ServerContext*, const ksef::hsm::v1::CreateKeyRequest*,
                         ksef::hsm::v1::Key*) override;
  grpc::Status GetKey(grpc::ServerContext*, const ksef::hsm::v1::GetKeyRequest*,
                      ksef::hsm::v1::Key*) override;
  grpc::Status ListKeys(grpc::ServerContext*, const ksef::hsm::v1::ListKeysRequest*,
                        ksef::hsm::v1::ListKeysResponse*) override;
  grpc::Status GetPublicKey(grpc::ServerContext*, const ksef::hsm::v1::GetPublicKeyRequest*,
                            ksef::hsm::v1::PublicKey*) override;
  grpc::Status DisableKey(grpc::ServerContext*, const ksef::hsm::v1::DisableKeyRequest*,
                          ksef::hsm::v1::Key*) override;
  grpc::Status EnableKey(grpc::ServerContext*, const ksef::hsm::v1::EnableKeyRequest*,
                         ksef::hsm::v1::Key*) override;
  grpc::Status ScheduleKeyDestruction(grpc::ServerContext*,
                                      const ksef::hsm::v1::ScheduleKeyDestructionRequest*,
                                      ksef::hsm::v1::Key*) override;
  grpc::Status RestoreKey(grpc::ServerContext*, const ksef::hsm::v1::RestoreKeyRequest*,
                          ksef::hsm::v1::Key*) override;
  grpc::Status SetKeyUsageLimit(grpc::ServerContext*,
                                const ksef::hsm::v1::SetKeyUsageLimitRequest*,
                                ksef::hsm::v1::Key*) override;
  grpc::Status CheckConsistency(grpc::ServerContext*,
                                const ksef::hsm::v1::CheckConsistencyRequest*,
                                ksef::hsm::v1::ConsistencyReport*) override;

 private:
  // Get, authorize `role` on the key, check the audit log can write, then `change`.
  grpc::Status Mutate(grpc::ServerContext* context, const char* operation, const std::string& name,
                      const std::function<absl::StatusOr<KeyRecord>(absl::string_view)>& change,
                      ksef::hsm::v1::Key* resp);

  KeyManager* const keys_;
  const AccessGuard* const guard_;
};

// Domain -> proto (exposed for tests and the other services). The
// certificate's serial, fingerprint, names and validity come from
// `certificates`, which parses each certificate once.
void ToProto(const KeyRecord& record, CertificateCache& certificates, ksef::hsm::v1::Key* key);

// Proto enums -> domain, INVALID_ARGUMENT naming the field.
absl::StatusOr<SubjectType> SubjectTypeFromProto(ksef::hsm::v1::KsefSubject::IdentifierType t);
absl::StatusOr<KeyPurpose> PurposeFromProto(ksef::hsm::v1::KeyPurpose p);

// The start shared by the RPCs that make a key (CreateKey, ImportKey: their
// requests carry key_id, subject and purpose), in the order of design.md 6a:
// notes the requested subject for the event, admits key admins, reads the
// id, the subject (normalized) and the purpose into `params` and authorizes
// the caller on that subject. The errors of Admit, Authorize and the field
// checks, as they are.
template <typename Request, typename Params>
absl::Status AdmitNewKey(AuditedCall& call, const Request& req, Params& params) {
  auto subject_type = SubjectTypeFromProto(req.subject().type());
  if (subject_type.ok()) call.RequestSubject(*subject_type, req.subject().value());
  KSEF_RETURN_IF_ERROR(call.Admit({Role::kKeyAdmin}));
  params.key_id = req.key_id();
  KSEF_ASSIGN_OR_RETURN(params.subject_type, std::move(subject_type));
  params.subject_value = req.subject().value();
  KSEF_RETURN_IF_ERROR(NormalizeSubject(params.subject_type, params.subject_value));
  KSEF_RETURN_IF_ERROR(call.Authorize(
      Role::kKeyAdmin, Resource::Subject(params.subject_type, params.subject_value)));
  KSEF_ASSIGN_OR_RETURN(params.purpose, PurposeFromProto(req.purpose()));
  return absl::OkStatus();
}

}  // namespace ksef::service

#endif  // KSEF_SERVICE_KEY_SERVICE_H_
