// The caller of an RPC, from the client certificate that the TLS handshake
// verified against tls_client_ca_file. Nothing the client sends in a message
// or header can change it.
#ifndef KSEF_SERVICE_CALLER_IDENTITY_H_
#define KSEF_SERVICE_CALLER_IDENTITY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace grpc {
class ServerContextBase;
}

namespace ksef::service {

struct CallerCertificate {
  std::string subject;  // RFC 4514, UTF-8 readable (as formats/cert prints names)
  std::string issuer;
  std::string serial;             // uppercase hex
  std::vector<std::string> sans;  // "dns:...", "uri:...", "email:...", "ip:..."
};

// Reads the identity from a PEM certificate. INVALID_ARGUMENT if unreadable.
absl::StatusOr<CallerCertificate> CallerFromPem(absl::string_view pem);

// The verified client certificate of this call, or nullopt (plaintext, or a
// TLS client without a certificate).
std::optional<CallerCertificate> CallerOf(const grpc::ServerContextBase& context);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_CALLER_IDENTITY_H_
