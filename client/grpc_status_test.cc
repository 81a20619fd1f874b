#include "client/grpc_status.h"

#include "gtest/gtest.h"

namespace ksef::client {
namespace {

TEST(GrpcStatusTest, CodeNames) {
  EXPECT_EQ(GrpcStatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcStatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(GrpcStatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcStatusCodeName(static_cast<grpc::StatusCode>(99)), "CODE_99");
}

TEST(GrpcStatusTest, OneLine) {
  EXPECT_EQ(FormatGrpcStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "key keys/x not found")),
            "NOT_FOUND: key keys/x not found");
  EXPECT_EQ(FormatGrpcStatus(grpc::Status(grpc::StatusCode::INTERNAL, "line one\nline two\n")),
            "INTERNAL: line one line two");
  EXPECT_EQ(FormatGrpcStatus(grpc::Status(grpc::StatusCode::CANCELLED, "")), "CANCELLED");
  EXPECT_EQ(FormatGrpcStatus(grpc::Status::OK), "OK");
}

TEST(GrpcStatusTest, ToAbsl) {
  absl::Status status =
      ToAbslStatus(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "key is destroyed"));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "key is destroyed");
  EXPECT_TRUE(ToAbslStatus(grpc::Status::OK).ok());
}

}  // namespace
}  // namespace ksef::client
