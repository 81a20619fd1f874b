// AuditServiceImpl: the ksef.hsm.v1.AuditService gRPC API over the audit
// store and log. Every call needs audit-reading on '*' and is itself audited.
// Thread-safe.
#ifndef KSEF_SERVICE_AUDIT_SERVICE_H_
#define KSEF_SERVICE_AUDIT_SERVICE_H_

#include "audit/audit_store.h"
#include "ksef/hsm/v1/audit_service.grpc.pb.h"
#include "service/audited_call.h"

namespace ksef::service {

class AuditServiceImpl final : public ksef::hsm::v1::AuditService::Service {
 public:
  // All must outlive the service. VerifyAuditLog compares the store with
  // the server's own anchor file (`anchor_file`).
  AuditServiceImpl(audit::AuditStore* store, const AccessGuard* guard, std::string anchor_file)
      : store_(store), guard_(guard), anchor_file_(std::move(anchor_file)) {}

  grpc::Status ListAuditEvents(grpc::ServerContext*, const ksef::hsm::v1::ListAuditEventsRequest*,
                               ksef::hsm::v1::ListAuditEventsResponse*) override;
  grpc::Status GetKeyUsage(grpc::ServerContext*, const ksef::hsm::v1::GetKeyUsageRequest*,
                           ksef::hsm::v1::GetKeyUsageResponse*) override;
  grpc::Status VerifyAuditLog(grpc::ServerContext*, const ksef::hsm::v1::VerifyAuditLogRequest*,
                              ksef::hsm::v1::VerifyAuditLogResponse*) override;
  grpc::Status GetAuditPublicKey(grpc::ServerContext*,
                                 const ksef::hsm::v1::GetAuditPublicKeyRequest*,
                                 ksef::hsm::v1::AuditPublicKey*) override;

 private:
  audit::AuditStore* const store_;
  const AccessGuard* const guard_;
  const std::string anchor_file_;
};

// audit::AuditEvent -> proto (also used by tests).
void ToProto(const audit::AuditEvent& event, ksef::hsm::v1::AuditEvent* out);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_AUDIT_SERVICE_H_
