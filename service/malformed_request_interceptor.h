// MalformedRequestInterceptor: a unary request whose message does not parse
// (not protobuf, or a string field that is not UTF-8) never reaches a
// handler; gRPC answers it INTERNAL with an empty message and nothing is
// audited. This interceptor turns that answer into INVALID_ARGUMENT saying
// what is wrong, and records the refusal through RefusalLog (aggregated like
// every refusal, so a flood of garbage cannot fill the audit store).
// One interceptor per call (gRPC's factory contract); thread-compatible.
#ifndef KSEF_SERVICE_MALFORMED_REQUEST_INTERCEPTOR_H_
#define KSEF_SERVICE_MALFORMED_REQUEST_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include "service/audited_call.h"

namespace ksef::service {

class MalformedRequestInterceptor final : public grpc::experimental::Interceptor {
 public:
  MalformedRequestInterceptor(grpc::experimental::ServerRpcInfo* info, const AccessGuard* guard)
      : info_(info), guard_(guard) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override;

 private:
  grpc::experimental::ServerRpcInfo* const info_;
  const AccessGuard* const guard_;
  bool parse_failed_ = false;
};

class MalformedRequestInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `guard` must outlive the server.
  explicit MalformedRequestInterceptorFactory(const AccessGuard* guard) : guard_(guard) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MalformedRequestInterceptor(info, guard_);
  }

 private:
  const AccessGuard* const guard_;
};

// "/ksef.hsm.v1.KeyService/GetKey" -> "GetKey".
std::string OperationOfMethod(absl::string_view method);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_MALFORMED_REQUEST_INTERCEPTOR_H_
