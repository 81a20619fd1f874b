// Test-only: an AuditService that records the requests it gets and answers
// with canned replies, for the client tests. FakeServer
// (fake_server.h) runs it beside the fake KeyService.
#ifndef KSEF_CLIENT_TESTING_FAKE_AUDIT_SERVICE_H_
#define KSEF_CLIENT_TESTING_FAKE_AUDIT_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ksef/hsm/v1/audit_service.grpc.pb.h"

namespace ksef::client::testing {

class FakeAuditService final : public ::ksef::hsm::v1::AuditService::Service {
 public:
  // ListAuditEvents answers a request with page_token T with the page set for
  // T ("" for the first page); an unknown token is INVALID_ARGUMENT.
  void SetPage(const std::string& page_token, const ::ksef::hsm::v1::ListAuditEventsResponse& page);
  void SetUsage(const ::ksef::hsm::v1::GetKeyUsageResponse& usage);
  void SetVerifyResult(const ::ksef::hsm::v1::VerifyAuditLogResponse& result);
  void SetPublicKey(const ::ksef::hsm::v1::AuditPublicKey& key);

  std::vector<::ksef::hsm::v1::ListAuditEventsRequest> list_requests();
  ::ksef::hsm::v1::GetKeyUsageRequest last_usage_request();
  // Calls of any method so far.
  int calls();

  grpc::Status ListAuditEvents(grpc::ServerContext*,
                               const ::ksef::hsm::v1::ListAuditEventsRequest* request,
                               ::ksef::hsm::v1::ListAuditEventsResponse* response) override;
  grpc::Status GetKeyUsage(grpc::ServerContext*, const ::ksef::hsm::v1::GetKeyUsageRequest* request,
                           ::ksef::hsm::v1::GetKeyUsageResponse* response) override;
  grpc::Status VerifyAuditLog(grpc::ServerContext*, const ::ksef::hsm::v1::VerifyAuditLogRequest*,
                              ::ksef::hsm::v1::VerifyAuditLogResponse* response) override;
  grpc::Status GetAuditPublicKey(grpc::ServerContext*,
                                 const ::ksef::hsm::v1::GetAuditPublicKeyRequest*,
                                 ::ksef::hsm::v1::AuditPublicKey* key) override;

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, ::ksef::hsm::v1::ListAuditEventsResponse> pages_ ABSL_GUARDED_BY(mu_);
  ::ksef::hsm::v1::GetKeyUsageResponse usage_ ABSL_GUARDED_BY(mu_);
  ::ksef::hsm::v1::VerifyAuditLogResponse verify_ ABSL_GUARDED_BY(mu_);
  ::ksef::hsm::v1::AuditPublicKey public_key_ ABSL_GUARDED_BY(mu_);
  std::vector<::ksef::hsm::v1::ListAuditEventsRequest> list_requests_ ABSL_GUARDED_BY(mu_);
  ::ksef::hsm::v1::GetKeyUsageRequest usage_request_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ksef::client::testing

#endif  // KSEF_CLIENT_TESTING_FAKE_AUDIT_SERVICE_H_
