// What a command handler gets to work with: its parsed arguments, the
// connection options, the output streams, and helpers that print errors in
// the CLI's format and return the matching exit status.
//
//   int RunGetKey(CommandContext& ctx) {
//     hsm::v1::Key key;
//     if (int rc = ctx.CallKeyService(&KeyService::Stub::GetKey, request, &key)) return rc;
//     return ctx.Print(key, FormatKey(key));
//   }
#ifndef KSEF_CLIENT_CLI_COMMAND_CONTEXT_H_
#define KSEF_CLIENT_CLI_COMMAND_CONTEXT_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "client/cli/args.h"
#include "client/cli/commands.h"
#include "client/connection.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "ksef/hsm/v1/audit_service.grpc.pb.h"
#include "ksef/hsm/v1/auth_service.grpc.pb.h"
#include "ksef/hsm/v1/enrollment_service.grpc.pb.h"
#include "ksef/hsm/v1/key_service.grpc.pb.h"
#include "ksef/hsm/v1/offline_service.grpc.pb.h"

namespace ksef::client {

class CommandContext {
 public:
  CommandContext(const CommandSpec& command, ParsedArgs args, ConnectionOptions connection,
                 bool json, std::ostream& out, std::ostream& err);
  // As above, with standard input for commands that read it (--password-stdin).
  CommandContext(const CommandSpec& command, ParsedArgs args, ConnectionOptions connection,
                 bool json, std::istream& in, std::ostream& out, std::ostream& err);

  CommandContext(const CommandContext&) = delete;
  CommandContext& operator=(const CommandContext&) = delete;

  const CommandSpec& command() const { return command_; }
  const ParsedArgs& args() const { return args_; }
  const ConnectionOptions& connection() const { return connection_; }
  bool json() const { return json_; }
  // Standard input; nullptr when the caller supplied none.
  std::istream* in() { return in_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // Prints "ksef-hsm: <command>: <message>" and "see ksef-hsm <command> --help";
  // returns kExitUsage.
  int UsageError(absl::string_view message);
  // Prints "ksef-hsm: <message>"; returns `exit_status`.
  int Error(const absl::Status& status, int exit_status);
  // Prints "ksef-hsm: <CODE>: <message>" and a hint for the usual causes;
  // returns kExitFailure.
  int RpcError(const grpc::Status& status);

  // Prints `message` as JSON in --json mode, else `human`. Returns kExitOk.
  int Print(const google::protobuf::Message& message, absl::string_view human);

  // One KeyService call with the configured deadline. Connects on first use.
  // Returns kExitOk, or prints the error and returns the exit status.
  template <typename Request, typename Response>
  int CallKeyService(grpc::Status (hsm::v1::KeyService::Stub::*method)(grpc::ClientContext*,
                                                                       const Request&, Response*),
                     const Request& request, Response* response) {
    if (int rc = EnsureConnected(); rc != kExitOk) return rc;
    grpc::ClientContext context;
    SetDeadline(connection_, &context);
    grpc::Status status = (key_service_.get()->*method)(&context, request, response);
    return status.ok() ? kExitOk : RpcError(status);
  }

  // One EnrollmentService call, like CallKeyService.
  template <typename Request, typename Response>
  int CallEnrollmentService(grpc::Status (hsm::v1::EnrollmentService::Stub::*method)(
                                grpc::ClientContext*, const Request&, Response*),
                            const Request& request, Response* response) {
    if (int rc = EnsureConnected(); rc != kExitOk) return rc;
    grpc::ClientContext context;
    SetDeadline(connection_, &context);
    grpc::Status status = (enrollment_service_.get()->*method)(&context, request, response);
    return status.ok() ? kExitOk : RpcError(status);
  }

  // One AuditService call, like CallKeyService.
  template <typename Request, typename Response>
  int CallAuditService(grpc::Status (hsm::v1::AuditService::Stub::*method)(grpc::ClientContext*,
                                                                           const Request&,
                                                                           Response*),
                       const Request& request, Response* response) {
    if (int rc = EnsureConnected(); rc != kExitOk) return rc;
    grpc::ClientContext context;
    SetDeadline(connection_, &context);
    grpc::Status status = (audit_service_.get()->*method)(&context, request, response);
    return status.ok() ? kExitOk : RpcError(status);
  }

  // One AuthService call, like CallKeyService.
  template <typename Request, typename Response>
  int CallAuthService(grpc::Status (hsm::v1::AuthService::Stub::*method)(grpc::ClientContext*,
                                                                         const Request&, Response*),
                      const Request& request, Response* response) {
    if (int rc = EnsureConnected(); rc != kExitOk) return rc;
    grpc::ClientContext context;
    SetDeadline(connection_, &context);
    grpc::Status status = (auth_service_.get()->*method)(&context, request, response);
    return status.ok() ? kExitOk : RpcError(status);
  }

  // One OfflineInvoiceService call, like CallKeyService.
  template <typename Request, typename Response>
  int CallOfflineService(grpc::Status (hsm::v1::OfflineInvoiceService::Stub::*method)(
                             grpc::ClientContext*, const Request&, Response*),
                         const Request& request, Response* response) {
    if (int rc = EnsureConnected(); rc != kExitOk) return rc;
    grpc::ClientContext context;
    SetDeadline(connection_, &context);
    grpc::Status status = (offline_service_.get()->*method)(&context, request, response);
    return status.ok() ? kExitOk : RpcError(status);
  }

  // OfflineInvoiceService.SignOfflineInvoices: sends `requests` from a second
  // thread while this one reads, so that neither side waits for the other,
  // and calls `on_result` for each result as it arrives. The deadline is the
  // timeout once per request. Returns kExitOk if the stream ended OK, else
  // prints the error (after the results that did arrive) and returns the exit
  // status.
  int StreamOfflineService(
      const std::vector<hsm::v1::SignOfflineInvoiceRequest>& requests,
      const std::function<void(const hsm::v1::OfflineInvoiceResult&)>& on_result);

  // grpc.health.v1.Health/Check, like CallKeyService.
  int CheckHealth(const grpc::health::v1::HealthCheckRequest& request,
                  grpc::health::v1::HealthCheckResponse* response);

 private:
  int EnsureConnected();
  std::string Hint(const grpc::Status& status) const;

  const CommandSpec& command_;
  ParsedArgs args_;
  ConnectionOptions connection_;
  bool json_;
  std::istream* in_ = nullptr;
  std::ostream& out_;
  std::ostream& err_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<hsm::v1::KeyService::Stub> key_service_;
  std::unique_ptr<hsm::v1::EnrollmentService::Stub> enrollment_service_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::unique_ptr<hsm::v1::AuditService::Stub> audit_service_;
  std::unique_ptr<hsm::v1::AuthService::Stub> auth_service_;
  std::unique_ptr<hsm::v1::OfflineInvoiceService::Stub> offline_service_;
};

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CLI_COMMAND_CONTEXT_H_
