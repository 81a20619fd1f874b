#include "service/metrics_interceptor.h"

namespace ksef::service {

void MetricsInterceptor::Intercept(grpc::experimental::InterceptorBatchMethods* methods) {
  if (methods->QueryInterceptionHookPoint(
          grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
    metrics_->CountRpc(rpc_, static_cast<int>(methods->GetSendStatus().error_code()));
  }
  methods->Proceed();
}

}  // namespace ksef::service
