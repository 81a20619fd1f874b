// AuthServiceImpl: ksef.hsm.v1.AuthService, KSeF log-in signatures. Builds
// the AuthTokenRequest from validated fields (ksef/xades), signs it XAdES-BES
// in the token with an ACTIVE Authentication key, and audits the SHA-256 of
// the canonical SignedInfo it signed. Thread-safe; the certificate parts of
// the signature are computed once per certificate and cached.
#ifndef KSEF_SERVICE_AUTH_SERVICE_H_
#define KSEF_SERVICE_AUTH_SERVICE_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "ksef/hsm/v1/auth_service.grpc.pb.h"
#include "ksef/xades/xades_certificate.h"
#include "service/audited_call.h"
#include "service/key_manager.h"

namespace ksef::service {

class AuthServiceImpl final : public ksef::hsm::v1::AuthService::Service {
 public:
  AuthServiceImpl(KeyManager* keys, const AccessGuard* guard) : keys_(keys), guard_(guard) {}

  grpc::Status SignAuthToken(grpc::ServerContext* context,
                             const ksef::hsm::v1::SignAuthTokenRequest* request,
                             ksef::hsm::v1::SignedAuthToken* response) override;

 private:
  // The key a request names, or the subject's current Authentication key.
  absl::StatusOr<KeyRecord> ResolveKey(const ksef::hsm::v1::SignAuthTokenRequest& request);
  struct CachedCertificate {
    xades::XadesCertificate xades;
    std::string serial_hex;
    std::string sha256_fingerprint;
  };
  absl::StatusOr<std::shared_ptr<const CachedCertificate>> CertificateFor(const KeyRecord& key);

  KeyManager* const keys_;
  const AccessGuard* const guard_;
  absl::Mutex mu_;
  // By certificate DER; a certificate never changes, so entries never go stale.
  absl::flat_hash_map<std::string, std::shared_ptr<const CachedCertificate>> certs_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_AUTH_SERVICE_H_
