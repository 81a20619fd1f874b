// Opening a gRPC channel to ksef-hsmd.
//
// ksef-hsmd speaks gRPC over mutual TLS: the client checks the server
// certificate against `ca_cert_file` and presents `client_cert_file` /
// `client_key_file`. `plaintext` turns TLS off (local testing only).
//
//   ConnectionOptions options;
//   options.ca_cert_file = "/etc/ksef-hsm/ca.pem";
//   options.client_cert_file = "/etc/ksef-hsm/client.pem";
//   options.client_key_file = "/etc/ksef-hsm/client.key";
//   KSEF_ASSIGN_OR_RETURN(auto channel, Connect(options));
//   auto stub = ksef::hsm::v1::KeyService::NewStub(channel);
//   grpc::ClientContext context;
//   SetDeadline(options, &context);
#ifndef KSEF_CLIENT_CONNECTION_H_
#define KSEF_CLIENT_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ksef::client {

inline constexpr absl::string_view kDefaultServerAddress = "127.0.0.1:7443";

struct ConnectionOptions {
  // gRPC target: "HOST:PORT" (or any gRPC URI such as "unix:/run/ksef-hsm.sock").
  std::string server_address = std::string(kDefaultServerAddress);
  // PEM CA certificate(s) the server certificate must chain to. Empty: gRPC's
  // default roots (rarely right for ksef-hsmd, which uses a private CA).
  std::string ca_cert_file;
  // PEM client certificate (chain) and its private key, for mutual TLS. Give
  // both or neither.
  std::string client_cert_file;
  std::string client_key_file;
  // No TLS at all; the certificate files are ignored.
  bool plaintext = false;
  // Name expected in the server certificate when it differs from the host in
  // `server_address` (e.g. connecting by IP). Empty: use the host.
  std::string server_name_override;
  // Deadline for each call (see SetDeadline). InfiniteDuration(): none.
  absl::Duration timeout = absl::Seconds(30);
};

// Builds the channel credentials and returns a channel. The files are read
// here, so a missing or unreadable file fails now with a message naming it
// ("cannot read client certificate /p: No such file or directory"); a file that
// is not a PEM certificate (or, for the key, an unencrypted PEM private key) is
// INVALID_ARGUMENT. No network I/O happens: a server that is down shows up as
// UNAVAILABLE on the first call. On the channel, read-only calls (GetKey,
// ListKeys, GetPublicKey, the AuditService's, health checks) are tried up to
// 3 times while the server is UNAVAILABLE; calls that change or sign
// something are never repeated by the client.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ConnectionOptions& options);

// Sets the deadline of `context` to now + options.timeout (unless infinite).
void SetDeadline(const ConnectionOptions& options, grpc::ClientContext* context);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_CONNECTION_H_
