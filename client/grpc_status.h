// Turning a grpc::Status into something a person (or an absl caller) can read.
//
//   FormatGrpcStatus(status)  -> "NOT_FOUND: key keys/x not found"
#ifndef KSEF_CLIENT_GRPC_STATUS_H_
#define KSEF_CLIENT_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ksef::client {

// "NOT_FOUND", "UNAVAILABLE", ...; "CODE_<n>" for a value outside the enum.
std::string GrpcStatusCodeName(grpc::StatusCode code);

// One line: "<CODE>: <message>", or just "<CODE>" when there is no message.
// Line breaks in the message become spaces. "OK" for an OK status.
std::string FormatGrpcStatus(const grpc::Status& status);

// The same code and message as an absl::Status (the codes are identical).
absl::Status ToAbslStatus(const grpc::Status& status);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_GRPC_STATUS_H_
