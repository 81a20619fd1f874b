// AuthServiceImpl: ksef.hsm.v1.AuthService, KSeF log-in signatures. Builds
// the AuthTokenRequest from validated fields (formats/xades), signs it XAdES-BES
// in the token with an ACTIVE Authentication key, and audits the SHA-256 of
// the canonical SignedInfo it signed. Thread-safe; the certificate parts of
// the signature are computed once per certificate and cached.
#ifndef KSEF_SERVICE_AUTH_SERVICE_H_
#define KSEF_SERVICE_AUTH_SERVICE_H_

#include <memory>
#include <string>

#include "ksef/hsm/v1/auth_service.grpc.pb.h"
#include "service/audited_call.h"
#include "service/key_manager.h"
#include "service/signing_gate.h"

namespace ksef::service {

class AuthServiceImpl final : public ksef::hsm::v1::AuthService::Service {
 public:
  // All must outlive the service.
  AuthServiceImpl(KeyManager* keys, const AccessGuard* guard, const SigningGate* gate)
      : keys_(keys), guard_(guard), gate_(gate) {}

  grpc::Status SignAuthToken(grpc::ServerContext* context,
                             const ksef::hsm::v1::SignAuthTokenRequest* request,
                             ksef::hsm::v1::SignedAuthToken* response) override;

 private:
  KeyManager* const keys_;
  const AccessGuard* const guard_;
  const SigningGate* const gate_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_AUTH_SERVICE_H_
