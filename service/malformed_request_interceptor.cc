#include "service/malformed_request_interceptor.h"

#include "absl/strings/str_cat.h"
#include "service/grpc_status.h"

namespace ksef::service {

using grpc::experimental::InterceptionHookPoints;

std::string OperationOfMethod(absl::string_view method) {
  const size_t slash = method.rfind('/');
  return std::string(slash == absl::string_view::npos ? method : method.substr(slash + 1));
}

void MalformedRequestInterceptor::Intercept(grpc::experimental::InterceptorBatchMethods* methods) {
  // For a unary call the request is read once, before the handler; no
  // message there means it did not parse (a stream's Read() ends the same
  // way at its normal end, so streams are left alone).
  if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
      info_->type() == grpc::experimental::ServerRpcInfo::Type::UNARY &&
      methods->GetRecvMessage() == nullptr) {
    parse_failed_ = true;
  }
  if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
      parse_failed_ && methods->GetSendStatus().error_code() == grpc::StatusCode::INTERNAL) {
    const std::string operation = OperationOfMethod(info_->method());
    const absl::Status status = absl::InvalidArgumentError(absl::StrCat(
        "the request is not a valid ", operation,
        " message: it must be protobuf as in the ksef.hsm.v1 .proto files, with every string "
        "field valid UTF-8 (use a bytes field's API for binary data)"));
    AuditedCall call(*guard_, *info_->server_context(), operation);
    methods->ModifySendStatus(call.FinishMalformed(status));
  }
  methods->Proceed();
}

}  // namespace ksef::service
