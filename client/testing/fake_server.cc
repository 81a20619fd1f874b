#include "client/testing/fake_server.h"

#include <chrono>

namespace ksef::client::testing {

void FakeHealthService::SetStatus(grpc::health::v1::HealthCheckResponse::ServingStatus status) {
  absl::MutexLock lock(&mu_);
  status_ = status;
}

grpc::Status FakeHealthService::Check(grpc::ServerContext*,
                                      const grpc::health::v1::HealthCheckRequest* request,
                                      grpc::health::v1::HealthCheckResponse* response) {
  if (!request->service().empty() && request->service() != "ksef.hsm.v1.KeyService") {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
  }
  absl::MutexLock lock(&mu_);
  response->set_status(status_);
  return grpc::Status::OK;
}

FakeServer::FakeServer(std::shared_ptr<grpc::ServerCredentials> credentials) {
  if (credentials == nullptr) credentials = grpc::InsecureServerCredentials();
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", credentials, &port);
  builder.RegisterService(&keys_);
  builder.RegisterService(&enrollment_);
  builder.RegisterService(&audit_);
  builder.RegisterService(&auth_);
  builder.RegisterService(&offline_);
  builder.RegisterService(&health_);
  server_ = builder.BuildAndStart();
  address_ = "127.0.0.1:" + std::to_string(port);
}

FakeServer::~FakeServer() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
}

}  // namespace ksef::client::testing
