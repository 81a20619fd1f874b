// Test-only: an in-memory KeyService for the client tests (FakeServer in
// fake_server.h runs it on 127.0.0.1). Not part of any product library.
//
// The fake keeps keys in a map and moves them between states by the server's
// own table (lifecycle/lifecycle.h): enable, disable, schedule-destruction,
// restore and set-usage-limit go where the server's would and are refused
// where the server's are. Its clock stands still at kNowSeconds, so a key's
// certificate counts as expired only if its notAfter is before that or the
// test added the key as EXPIRED. It remembers every request it got.
// Thread-safe: gRPC calls and the test's accessors may run at once.
#ifndef KSEF_CLIENT_TESTING_FAKE_KEY_SERVICE_H_
#define KSEF_CLIENT_TESTING_FAKE_KEY_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ksef/hsm/v1/key_service.grpc.pb.h"
#include "lifecycle/lifecycle.h"

namespace ksef::client::testing {

namespace v1 = ::ksef::hsm::v1;

class FakeKeyService final : public v1::KeyService::Service {
 public:
  static constexpr int64_t kCreateSeconds = 1735732800;  // 2025-01-01T12:00:00Z
  // The fake's "now" (its clock does not move) and its grace period before
  // destruction: a scheduled key's destroy_time is 2025-01-02T12:00:00Z.
  static constexpr int64_t kNowSeconds = kCreateSeconds;
  static constexpr int64_t kGraceSeconds = 86400;

  // A key in state ACTIVE with a certificate, named keys/<id>.
  static v1::Key MakeKey(const std::string& id);

  // Adds (or replaces) a key in the state it has; EXPIRED means its
  // certificate has expired.
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
  // A key as the fake holds it: `shown` carries the state callers see
  // (EXPIRED included); whether its certificate expired is remembered apart,
  // since the stored state of an expired key is ACTIVE.
  struct Entry {
    v1::Key shown;
    bool certificate_expired = false;
  };

  // Finds the key by name or PKCS#11 URI (not DESTROYED ones); records the name.
  Entry* Find(const std::string& name, grpc::Status* status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies `op` by the lifecycle table and then `change` (if any), under
  // mu_; on success copies the key to `key`.
  grpc::Status Transition(const std::string& name, lifecycle::Operation op, v1::Key* key,
                          const std::function<void(v1::Key&)>& change = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  std::map<std::string, Entry> keys_ ABSL_GUARDED_BY(mu_);  // by name
  v1::ConsistencyReport report_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::ListKeysRequest> list_requests_ ABSL_GUARDED_BY(mu_);
  v1::CreateKeyRequest last_create_ ABSL_GUARDED_BY(mu_);
  std::string last_name_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ksef::client::testing

#endif  // KSEF_CLIENT_TESTING_FAKE_KEY_SERVICE_H_
