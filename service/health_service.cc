#include "service/health_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace ksef::service {
namespace {

using grpc::health::v1::HealthCheckResponse;

// How often a Watch without changes looks whether its caller left.
constexpr absl::Duration kWatchPoll = absl::Seconds(1);

}  // namespace

HealthService::HealthService(const std::vector<std::string>& services, int max_watchers)
    : max_watchers_(max_watchers) {
  absl::MutexLock lock(&mu_);
  serving_[""] = false;
  for (const std::string& name : services) serving_[name] = false;
}

void HealthService::SetServingStatus(const std::string& service_name, bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  auto [it, added] = serving_.try_emplace(service_name, serving);
  if (!added && it->second == serving) return;
  it->second = serving;
  ++changes_;
}

void HealthService::SetServingStatus(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  for (auto& [name, state] : serving_) state = serving;
  ++changes_;
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  for (auto& [name, state] : serving_) state = false;
  shut_down_ = true;
  ++changes_;
}

HealthService::Status HealthService::StatusOf(const std::string& name) const {
  auto it = serving_.find(name);
  if (it == serving_.end()) return HealthCheckResponse::SERVICE_UNKNOWN;
  return it->second ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

grpc::Status HealthService::Check(grpc::ServerContext*,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  absl::ReaderMutexLock lock(&mu_);
  const Status status = StatusOf(request->service());
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("no service named \"", request->service(),
                                     "\" here (\"\" asks for the whole server)"));
  }
  response->set_status(status);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(
    grpc::ServerContext* context, const grpc::health::v1::HealthCheckRequest* request,
    grpc::ServerWriter<HealthCheckResponse>* writer) {
  {
    absl::MutexLock lock(&mu_);
    if (watchers_ >= max_watchers_) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat(max_watchers_,
                                       " health watches are open already; use Check to poll"));
    }
    ++watchers_;
  }
  long seen = -1;
  bool ended = false;
  while (!ended && !context->IsCancelled()) {
    HealthCheckResponse response;
    {
      absl::MutexLock lock(&mu_);
      auto changed = [this, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return changes_ != seen; };
      mu_.AwaitWithTimeout(absl::Condition(&changed), kWatchPoll);
      if (changes_ == seen) continue;  // no change: look whether the caller left
      seen = changes_;
      response.set_status(StatusOf(request->service()));
      ended = shut_down_;
    }
    if (!writer->Write(response)) break;
  }
  absl::MutexLock lock(&mu_);
  --watchers_;
  if (ended) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
  return grpc::Status::OK;
}

}  // namespace ksef::service
