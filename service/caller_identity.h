// The caller of an RPC, from the client certificate that the TLS handshake
// verified against tls_client_ca_file. Nothing the client sends in a message
// or header can change it.
#ifndef KSEF_SERVICE_CALLER_IDENTITY_H_
#define KSEF_SERVICE_CALLER_IDENTITY_H_

#include <optional>
#include <string>
#include <vector>

#include "service/certificate_cache.h"

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

// The verified client certificate of this call, or nullopt (plaintext, a
// TLS client without a certificate, or one that does not parse). Parsed
// through `certificates`, so a caller's certificate is read once.
std::optional<CallerCertificate> CallerOf(const grpc::ServerContextBase& context,
                                          CertificateCache& certificates);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_CALLER_IDENTITY_H_
