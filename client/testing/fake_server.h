// Test-only: every fake of client/testing (keys, enrollment, audit, auth,
// offline invoices, health) behind one gRPC server on 127.0.0.1:<free port>,
// for the client tests.
#ifndef KSEF_CLIENT_TESTING_FAKE_SERVER_H_
#define KSEF_CLIENT_TESTING_FAKE_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/testing/fake_audit_service.h"
#include "client/testing/fake_auth_service.h"
#include "client/testing/fake_enrollment_service.h"
#include "client/testing/fake_key_service.h"
#include "client/testing/fake_offline_service.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace ksef::client::testing {

// grpc.health.v1: answers for "" and "ksef.hsm.v1.KeyService" with the status
// set last (SERVING at first); other services are NOT_FOUND.
class FakeHealthService final : public grpc::health::v1::Health::Service {
 public:
  void SetStatus(grpc::health::v1::HealthCheckResponse::ServingStatus status);
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;

 private:
  absl::Mutex mu_;
  grpc::health::v1::HealthCheckResponse::ServingStatus status_ ABSL_GUARDED_BY(mu_) =
      grpc::health::v1::HealthCheckResponse::SERVING;
};

class FakeServer {
 public:
  // Plaintext unless `credentials` is given.
  explicit FakeServer(std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);
  ~FakeServer();

  std::string address() const { return address_; }
  FakeKeyService& keys() { return keys_; }
  FakeEnrollmentService& enrollment() { return enrollment_; }
  FakeAuditService& audit() { return audit_; }
  FakeAuthService& auth() { return auth_; }
  FakeOfflineService& offline() { return offline_; }
  FakeHealthService& health() { return health_; }

 private:
  FakeKeyService keys_;
  FakeEnrollmentService enrollment_;
  FakeAuditService audit_;
  FakeAuthService auth_;
  FakeOfflineService offline_;
  FakeHealthService health_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace ksef::client::testing

#endif  // KSEF_CLIENT_TESTING_FAKE_SERVER_H_
