// absl::Status -> grpc::Status at the service edge (design.md section 5).
#ifndef KSEF_SERVICE_GRPC_STATUS_H_
#define KSEF_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace ksef::service {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_GRPC_STATUS_H_
