#include "client/testing/fake_audit_service.h"

namespace ksef::client::testing {

namespace v1 = ::ksef::hsm::v1;

void FakeAuditService::SetPage(const std::string& page_token,
                               const v1::ListAuditEventsResponse& page) {
  absl::MutexLock lock(&mu_);
  pages_[page_token] = page;
}

void FakeAuditService::SetUsage(const v1::GetKeyUsageResponse& usage) {
  absl::MutexLock lock(&mu_);
  usage_ = usage;
}

void FakeAuditService::SetVerifyResult(const v1::VerifyAuditLogResponse& result) {
  absl::MutexLock lock(&mu_);
  verify_ = result;
}

void FakeAuditService::SetPublicKey(const v1::AuditPublicKey& key) {
  absl::MutexLock lock(&mu_);
  public_key_ = key;
}

std::vector<v1::ListAuditEventsRequest> FakeAuditService::list_requests() {
  absl::MutexLock lock(&mu_);
  return list_requests_;
}

v1::GetKeyUsageRequest FakeAuditService::last_usage_request() {
  absl::MutexLock lock(&mu_);
  return usage_request_;
}

int FakeAuditService::calls() {
  absl::MutexLock lock(&mu_);
  return calls_;
}

grpc::Status FakeAuditService::ListAuditEvents(grpc::ServerContext*,
                                               const v1::ListAuditEventsRequest* request,
                                               v1::ListAuditEventsResponse* response) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  list_requests_.push_back(*request);
  auto it = pages_.find(request->page_token());
  if (it == pages_.end()) {
    if (request->page_token().empty()) return grpc::Status::OK;  // no events
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid page_token");
  }
  *response = it->second;
  return grpc::Status::OK;
}

grpc::Status FakeAuditService::GetKeyUsage(grpc::ServerContext*,
                                           const v1::GetKeyUsageRequest* request,
                                           v1::GetKeyUsageResponse* response) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  usage_request_ = *request;
  *response = usage_;
  return grpc::Status::OK;
}

grpc::Status FakeAuditService::VerifyAuditLog(grpc::ServerContext*,
                                              const v1::VerifyAuditLogRequest*,
                                              v1::VerifyAuditLogResponse* response) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  *response = verify_;
  return grpc::Status::OK;
}

grpc::Status FakeAuditService::GetAuditPublicKey(grpc::ServerContext*,
                                                 const v1::GetAuditPublicKeyRequest*,
                                                 v1::AuditPublicKey* key) {
  absl::MutexLock lock(&mu_);
  ++calls_;
  if (public_key_.der().empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no audit key configured");
  }
  *key = public_key_;
  return grpc::Status::OK;
}

}  // namespace ksef::client::testing
