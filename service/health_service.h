// HealthService: grpc.health.v1 on the synchronous server's threads.
//
// gRPC's default health service uses the callback API, and one callback
// service makes gRPC start its "nexting" threads for the whole server: they
// then read every connection and hand each call to a synchronous worker
// thread, a wake-up per call that the synchronous services pay
// (docs/performance.md, "Thread model"). This one keeps the server
// synchronous only.
//
// Check: SERVING / NOT_SERVING of a known service name ("" is the server),
// NOT_FOUND for any other name. Watch: the status at once, then each change,
// until the caller leaves or Shutdown(); an unknown name is SERVICE_UNKNOWN.
// A Watch holds a worker thread, so at most `max_watchers` run at once; more
// get RESOURCE_EXHAUSTED (probes use Check). After Shutdown() every status is
// NOT_SERVING and stays so.
// Thread-safe. Installed as the server's HealthCheckServiceInterface
// (Server::GetHealthCheckService) and registered as its Health service.
#ifndef KSEF_SERVICE_HEALTH_SERVICE_H_
#define KSEF_SERVICE_HEALTH_SERVICE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/health_check_service_interface.h"

namespace ksef::service {

class HealthService final : public grpc::HealthCheckServiceInterface,
                            public grpc::health::v1::Health::Service {
 public:
  // `services`: the names Check and Watch know besides "" (the server); all
  // start NOT_SERVING.
  HealthService(const std::vector<std::string>& services, int max_watchers);

  void SetServingStatus(const std::string& service_name, bool serving) override;
  void SetServingStatus(bool serving) override;  // every known name
  void Shutdown() override;

  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;
  // The status of `name`, SERVICE_UNKNOWN when it is not known.
  Status StatusOf(const std::string& name) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const int max_watchers_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  int watchers_ ABSL_GUARDED_BY(mu_) = 0;
  long changes_ ABSL_GUARDED_BY(mu_) = 0;  // bumped on every change; watchers wait on it
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_HEALTH_SERVICE_H_
