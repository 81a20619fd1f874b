#include "service/caller_identity.h"

#include <grpcpp/grpcpp.h>

namespace ksef::service {

std::optional<CallerCertificate> CallerOf(const grpc::ServerContextBase& context,
                                          CertificateCache& certificates) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return std::nullopt;
  std::vector<grpc::string_ref> pems = auth->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return std::nullopt;
  // Decoded and parsed once per process (CertificateCache::GetPem).
  auto parsed = certificates.GetPem(absl::string_view(pems.front().data(), pems.front().size()));
  if (!parsed.ok()) return std::nullopt;
  const CachedCertificate& c = **parsed;
  return CallerCertificate{c.info.subject, c.info.issuer, c.info.serial_hex, c.sans};
}

}  // namespace ksef::service
