// HealthService over a real in-process gRPC server (plaintext on loopback).
#include "service/health_service.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/ext/health_check_service_server_builder_option.h>

#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace ksef::service {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto health = std::make_unique<HealthService>(std::vector<std::string>{"a.Service"},
                                                  /*max_watchers=*/1);
    health_ = health.get();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(health_);
    builder.SetOption(
        std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(std::move(health)));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = Health::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                                grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  grpc::Status Check(const std::string& name, HealthCheckResponse::ServingStatus* status) {
    grpc::ClientContext ctx;
    HealthCheckRequest req;
    req.set_service(name);
    HealthCheckResponse resp;
    grpc::Status s = stub_->Check(&ctx, req, &resp);
    *status = resp.status();
    return s;
  }

  HealthService* health_ = nullptr;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(HealthServiceTest, CheckAnswersKnownNamesAndRefusesOthers) {
  HealthCheckResponse::ServingStatus status;
  ASSERT_TRUE(Check("", &status).ok());
  EXPECT_EQ(status, HealthCheckResponse::NOT_SERVING);  // nothing said yet
  server_->GetHealthCheckService()->SetServingStatus(true);
  ASSERT_TRUE(Check("", &status).ok());
  EXPECT_EQ(status, HealthCheckResponse::SERVING);
  ASSERT_TRUE(Check("a.Service", &status).ok());
  EXPECT_EQ(status, HealthCheckResponse::SERVING);
  server_->GetHealthCheckService()->SetServingStatus("a.Service", false);
  ASSERT_TRUE(Check("a.Service", &status).ok());
  EXPECT_EQ(status, HealthCheckResponse::NOT_SERVING);
  grpc::Status unknown = Check("no.Such", &status);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown.error_message().find("no.Such"), std::string::npos);
}

TEST_F(HealthServiceTest, WatchSeesEachChangeAndEndsAtShutdown) {
  grpc::ClientContext ctx;
  HealthCheckRequest req;
  auto reader = stub_->Watch(&ctx, req);
  HealthCheckResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);  // at once

  // A second watcher finds the only place taken.
  grpc::ClientContext ctx2;
  auto second = stub_->Watch(&ctx2, req);
  HealthCheckResponse none;
  EXPECT_FALSE(second->Read(&none));
  EXPECT_EQ(second->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  health_->SetServingStatus(true);
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);
  health_->Shutdown();
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(reader->Read(&resp));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);

  // After Shutdown nothing turns it back on.
  health_->SetServingStatus(true);
  HealthCheckResponse::ServingStatus status;
  ASSERT_TRUE(Check("", &status).ok());
  EXPECT_EQ(status, HealthCheckResponse::NOT_SERVING);
}

TEST_F(HealthServiceTest, WatchOfAnUnknownNameSaysSo) {
  grpc::ClientContext ctx;
  HealthCheckRequest req;
  req.set_service("no.Such");
  auto reader = stub_->Watch(&ctx, req);
  HealthCheckResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  ctx.TryCancel();  // the caller leaves: its place is free again
  while (reader->Read(&resp)) {
  }
  reader->Finish();
  for (int i = 0; i < 50; ++i) {
    grpc::ClientContext again;
    auto next = stub_->Watch(&again, req);
    if (next->Read(&resp)) return;  // taken again: the first one gave it back
    next->Finish();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << "the cancelled watch never gave its place back";
}

}  // namespace
}  // namespace ksef::service
