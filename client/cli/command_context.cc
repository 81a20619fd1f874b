#include "client/cli/command_context.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/grpc_status.h"
#include "client/cli/output.h"

namespace ksef::client {

CommandContext::CommandContext(const CommandSpec& command, ParsedArgs args,
                               ConnectionOptions connection, bool json, std::ostream& out,
                               std::ostream& err)
    : command_(command),
      args_(std::move(args)),
      connection_(std::move(connection)),
      json_(json),
      out_(out),
      err_(err) {}

CommandContext::CommandContext(const CommandSpec& command, ParsedArgs args,
                               ConnectionOptions connection, bool json, std::istream& in,
                               std::ostream& out, std::ostream& err)
    : CommandContext(command, std::move(args), std::move(connection), json, out, err) {
  in_ = &in;
}

int CommandContext::UsageError(absl::string_view message) {
  err_ << "ksef-hsm: " << command_.name << ": " << message << "\n"
       << "see ksef-hsm " << command_.name << " --help\n";
  return kExitUsage;
}

int CommandContext::Error(const absl::Status& status, int exit_status) {
  err_ << "ksef-hsm: " << status.message() << "\n";
  return exit_status;
}

int CommandContext::RpcError(const grpc::Status& status) {
  err_ << "ksef-hsm: " << FormatGrpcStatus(status) << "\n";
  std::string hint = Hint(status);
  if (!hint.empty()) err_ << "hint: " << hint << "\n";
  return kExitFailure;
}

int CommandContext::Print(const google::protobuf::Message& message, absl::string_view human) {
  if (!json_) {
    out_ << human;
    return kExitOk;
  }
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) return Error(json.status(), kExitFailure);
  out_ << *json;
  return kExitOk;
}

int CommandContext::CheckHealth(const grpc::health::v1::HealthCheckRequest& request,
                                grpc::health::v1::HealthCheckResponse* response) {
  if (int rc = EnsureConnected(); rc != kExitOk) return rc;
  grpc::ClientContext context;
  SetDeadline(connection_, &context);
  grpc::Status status = health_->Check(&context, request, response);
  return status.ok() ? kExitOk : RpcError(status);
}

int CommandContext::StreamOfflineService(
    const std::vector<hsm::v1::SignOfflineInvoiceRequest>& requests,
    const std::function<void(const hsm::v1::OfflineInvoiceResult&)>& on_result) {
  if (int rc = EnsureConnected(); rc != kExitOk) return rc;
  grpc::ClientContext context;
  if (connection_.timeout != absl::InfiniteDuration()) {
    // Capped, so that the deadline stays a representable time.
    absl::Duration total =
        std::min(connection_.timeout * static_cast<int64_t>(std::max<size_t>(1, requests.size())),
                 absl::Hours(24 * 366));
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(total));
  }
  std::unique_ptr<
      grpc::ClientReaderWriter<hsm::v1::SignOfflineInvoiceRequest, hsm::v1::OfflineInvoiceResult>>
      stream = offline_service_->SignOfflineInvoices(&context);
  // One writer thread, this thread the only reader: allowed by gRPC's sync API.
  std::thread writer([&stream, &requests] {
    for (const hsm::v1::SignOfflineInvoiceRequest& request : requests) {
      if (!stream->Write(request)) break;  // the stream is broken; Finish tells why
    }
    stream->WritesDone();
  });
  hsm::v1::OfflineInvoiceResult result;
  while (stream->Read(&result)) on_result(result);
  writer.join();
  grpc::Status status = stream->Finish();
  return status.ok() ? kExitOk : RpcError(status);
}

int CommandContext::EnsureConnected() {
  if (channel_ != nullptr) return kExitOk;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(connection_);
  if (!channel.ok()) return Error(channel.status(), kExitUsage);
  channel_ = *std::move(channel);
  key_service_ = hsm::v1::KeyService::NewStub(channel_);
  enrollment_service_ = hsm::v1::EnrollmentService::NewStub(channel_);
  health_ = grpc::health::v1::Health::NewStub(channel_);
  audit_service_ = hsm::v1::AuditService::NewStub(channel_);
  auth_service_ = hsm::v1::AuthService::NewStub(channel_);
  offline_service_ = hsm::v1::OfflineInvoiceService::NewStub(channel_);
  return kExitOk;
}

std::string CommandContext::Hint(const grpc::Status& status) const {
  const std::string& server = connection_.server_address;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (absl::StrContains(status.error_message(), "certificate verify failed")) {
        return "the server's certificate is not signed by the CA in --ca-cert "
               "(KSEF_HSM_CA_CERT); check that file";
      }
      if (absl::StrContains(status.error_message(), "not in peer certificate")) {
        return "the server's certificate is not issued for the host in --server; connect by the "
               "name it carries, or give that name with --server-name";
      }
      if (!connection_.plaintext &&
          absl::StrContains(status.error_message(), "empty address list")) {
        return "gRPC could not set up TLS; does --client-key belong to --client-cert? "
               "(GRPC_VERBOSITY=ERROR shows gRPC's own diagnostics)";
      }
      if (connection_.plaintext) {
        return absl::StrCat("is ksef-hsmd running at ", server,
                            "? check --server; --plaintext only works with a server that has TLS "
                            "turned off");
      }
      if (connection_.client_cert_file.empty()) {
        return absl::StrCat("is ksef-hsmd running at ", server,
                            "? check --server and the TLS files; no client certificate was "
                            "given, and ksef-hsmd normally requires one (--client-cert, "
                            "--client-key)");
      }
      return absl::StrCat("is ksef-hsmd running at ", server,
                          "? check --server and the TLS files (--ca-cert, --client-cert, "
                          "--client-key)");
    case grpc::StatusCode::UNAUTHENTICATED:
      return "the server did not accept this client; check --client-cert and --client-key "
             "(or KSEF_HSM_CLIENT_CERT / KSEF_HSM_CLIENT_KEY)";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "this client certificate is not allowed to do that; ask the ksef-hsmd operator";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat("no answer from ", server, " within ",
                          absl::FormatDuration(connection_.timeout),
                          "; raise --timeout if the HSM is slow");
    case grpc::StatusCode::ABORTED:
      return "another request changed the key at the same time; nothing was changed by this "
             "one: read the key again (ksef-hsm get-key) and repeat the command if it still "
             "applies";
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StrCat("the server at ", server,
                          " does not offer this call; is it ksef-hsmd, and of a matching version?");
    case grpc::StatusCode::NOT_FOUND:
      if (command_.name == "health") {
        return "the server does not know that service; leave out --service to check the server "
               "as a whole";
      }
      return "\"ksef-hsm list-keys\" shows the existing keys";
    default:
      return "";
  }
}

}  // namespace ksef::client
