#include "client/connection.h"

#include <string.h>  // explicit_bzero

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/file_util.h"

namespace ksef::client {
namespace {

constexpr absl::string_view kCertificateMarker = "-----BEGIN CERTIFICATE-----";
constexpr absl::string_view kPrivateKeyMarker = "PRIVATE KEY-----";

// Reads a PEM file and checks that it holds what it should (`marker`), so a
// DER file, a swapped certificate/key or a wrong path fails here with its
// name rather than later as an obscure TLS error.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view what,
                                        absl::string_view marker) {
  absl::StatusOr<std::string> pem = ReadWholeFile(path, what);
  if (!pem.ok()) return pem.status();
  std::string problem;
  if (!absl::StrContains(*pem, marker)) {
    problem = marker == kCertificateMarker
                  ? absl::StrCat(" is not a PEM certificate (no \"", kCertificateMarker, "\" line)")
                  : " is not a PEM private key (no \"-----BEGIN ... PRIVATE KEY-----\" line)";
  } else if (absl::StrContains(*pem, "ENCRYPTED PRIVATE KEY") ||
             absl::StrContains(*pem, "Proc-Type: 4,ENCRYPTED")) {
    problem = " is encrypted; gRPC needs an unencrypted key (e.g. openssl pkey -in KEY -out NEW)";
  }
  if (!problem.empty()) {
    explicit_bzero(pem->data(), pem->size());
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, problem));
  }
  return pem;
}

// Reads are retried when the server was unavailable (a replica behind the
// balancer died, or restarted): they change nothing, so a second try is
// always safe. Changes and signatures are never retried by the client: a
// lost answer may mean the change was made, and ABORTED (a concurrent change
// won) needs a fresh read and a new decision, not a blind repeat.
constexpr char kRetryReadsServiceConfig[] = R"json({
  "methodConfig": [{
    "name": [
      {"service": "ksef.hsm.v1.KeyService", "method": "GetKey"},
      {"service": "ksef.hsm.v1.KeyService", "method": "ListKeys"},
      {"service": "ksef.hsm.v1.KeyService", "method": "GetPublicKey"},
      {"service": "ksef.hsm.v1.AuditService", "method": "ListAuditEvents"},
      {"service": "ksef.hsm.v1.AuditService", "method": "GetKeyUsage"},
      {"service": "ksef.hsm.v1.AuditService", "method": "VerifyAuditLog"},
      {"service": "ksef.hsm.v1.AuditService", "method": "GetAuditPublicKey"},
      {"service": "grpc.health.v1.Health", "method": "Check"}
    ],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.2s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json";

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ConnectionOptions& options) {
  if (options.server_address.empty()) {
    return absl::InvalidArgumentError("no server address given (HOST:PORT)");
  }
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(kRetryReadsServiceConfig);
  if (options.plaintext) {
    return grpc::CreateCustomChannel(options.server_address, grpc::InsecureChannelCredentials(),
                                     args);
  }
  if (options.client_cert_file.empty() != options.client_key_file.empty()) {
    return absl::InvalidArgumentError(
        options.client_cert_file.empty()
            ? "a client key was given without a client certificate; give both for mutual TLS"
            : "a client certificate was given without its private key; give both for mutual TLS");
  }

  grpc::SslCredentialsOptions ssl;
  if (!options.ca_cert_file.empty()) {
    absl::StatusOr<std::string> roots =
        ReadPemFile(options.ca_cert_file, "CA certificate", kCertificateMarker);
    if (!roots.ok()) return roots.status();
    ssl.pem_root_certs = *std::move(roots);
  }
  if (!options.client_cert_file.empty()) {
    absl::StatusOr<std::string> chain =
        ReadPemFile(options.client_cert_file, "client certificate", kCertificateMarker);
    if (!chain.ok()) return chain.status();
    absl::StatusOr<std::string> key =
        ReadPemFile(options.client_key_file, "client key", kPrivateKeyMarker);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(chain);
    ssl.pem_private_key = *std::move(key);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(ssl);
  // gRPC keeps its own copy; do not leave the private key lying around in ours.
  explicit_bzero(ssl.pem_private_key.data(), ssl.pem_private_key.size());

  if (!options.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options.server_name_override);
  }
  return grpc::CreateCustomChannel(options.server_address, credentials, args);
}

void SetDeadline(const ConnectionOptions& options, grpc::ClientContext* context) {
  if (options.timeout == absl::InfiniteDuration()) return;
  context->set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
}

}  // namespace ksef::client
