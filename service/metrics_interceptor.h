// MetricsInterceptor: counts every finished call by RPC and the gRPC status
// code the client gets (ksef_hsm_grpc_calls_total). A server interceptor sees
// every call the server answers, health checks and requests that never reach
// a handler included; placed after MalformedRequestInterceptor, so a request
// that did not parse counts with the INVALID_ARGUMENT it is answered with.
// The method label is looked up once per call in the fixed list given to
// metrics::Metrics (unknown names count as "other").
// One interceptor per call (gRPC's factory contract); thread-compatible.
#ifndef KSEF_SERVICE_METRICS_INTERCEPTOR_H_
#define KSEF_SERVICE_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include "metrics/metrics.h"

namespace ksef::service {

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, metrics::Metrics* metrics)
      : metrics_(metrics), rpc_(metrics->Rpc(info->method() != nullptr ? info->method() : "")) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override;

 private:
  metrics::Metrics* const metrics_;
  const metrics::RpcMetrics* const rpc_;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `metrics` must outlive the server.
  explicit MetricsInterceptorFactory(metrics::Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, metrics_);
  }

 private:
  metrics::Metrics* const metrics_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_METRICS_INTERCEPTOR_H_
