// Test-only: an in-memory KeyService and Health service, and a gRPC server
// that runs them on 127.0.0.1 for the client tests. Not part of any library.
//
// The fake keeps keys in a map and implements the documented state machine
// just well enough to check what the client sends and prints. It remembers
// every request it got.
#ifndef KSEF_CLIENT_FAKE_KEY_SERVICE_H_
#define KSEF_CLIENT_FAKE_KEY_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/fake_audit_service.h"
#include "client/fake_auth_service.h"
#include "client/fake_enrollment_service.h"
#include "client/fake_offline_service.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "ksef/hsm/v1/key_service.grpc.pb.h"

namespace ksef::client::testing {

namespace v1 = ::ksef::hsm::v1;

class FakeKeyService final : public v1::KeyService::Service {
 public:
  // A key in state ACTIVE with a certificate, named keys/<id>.
  static v1::Key MakeKey(const std::string& id);

  void AddKey(const v1::Key& key);
  void SetConsistencyReport(const v1::ConsistencyReport& report);

  std::vector<v1::ListKeysRequest> list_requests();
  v1::CreateKeyRequest last_create_request();
  std::string last_name();  // `name` of the last request that had one

  // GetKey of "keys/slow" sleeps this long (for deadline tests).
  static constexpr int kSlowMillis = 1000;

  grpc::Status CreateKey(grpc::ServerContext*, const v1::CreateKeyRequest* request,
                         v1::Key* key) override;
  grpc::Status GetKey(grpc::ServerContext*, const v1::GetKeyRequest* request,
                      v1::Key* key) override;
  grpc::Status ListKeys(grpc::ServerContext*, const v1::ListKeysRequest* request,
                        v1::ListKeysResponse* response) override;
  grpc::Status GetPublicKey(grpc::ServerContext*, const v1::GetPublicKeyRequest* request,
                            v1::PublicKey* key) override;
  grpc::Status DisableKey(grpc::ServerContext*, const v1::DisableKeyRequest* request,
                          v1::Key* key) override;
  grpc::Status EnableKey(grpc::ServerContext*, const v1::EnableKeyRequest* request,
                         v1::Key* key) override;
  grpc::Status SetKeyUsageLimit(grpc::ServerContext*, const v1::SetKeyUsageLimitRequest* request,
                                v1::Key* key) override;
  grpc::Status ScheduleKeyDestruction(grpc::ServerContext*,
                                      const v1::ScheduleKeyDestructionRequest* request,
                                      v1::Key* key) override;
  grpc::Status RestoreKey(grpc::ServerContext*, const v1::RestoreKeyRequest* request,
                          v1::Key* key) override;
  grpc::Status CheckConsistency(grpc::ServerContext*, const v1::CheckConsistencyRequest*,
                                v1::ConsistencyReport* report) override;

 private:
  // Finds the key by name or PKCS#11 URI; records the name. Caller holds mu_.
  v1::Key* Find(const std::string& name, grpc::Status* status);
  // Moves the key from one of `from` to `to`.
  grpc::Status Transition(const std::string& name, std::vector<v1::KeyState> from, v1::KeyState to,
                          v1::Key* key);

  std::mutex mu_;
  std::map<std::string, v1::Key> keys_;
  v1::ConsistencyReport report_;
  std::vector<v1::ListKeysRequest> list_requests_;
  v1::CreateKeyRequest last_create_;
  std::string last_name_;
};

class FakeHealthService final : public grpc::health::v1::Health::Service {
 public:
  void SetStatus(grpc::health::v1::HealthCheckResponse::ServingStatus status);
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;

 private:
  std::mutex mu_;
  grpc::health::v1::HealthCheckResponse::ServingStatus status_ =
      grpc::health::v1::HealthCheckResponse::SERVING;
};

// The fakes (keys, enrollment, audit, auth, offline invoices, health) behind a
// server on 127.0.0.1:<free port>.
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

#endif  // KSEF_CLIENT_FAKE_KEY_SERVICE_H_
