// SigningGate: the one way to a key's signer. Every RPC that signs (XAdES
// authentication, KOD II, CSR, self-signed certificate) takes the key
// through the gate, which runs the same steps in one fixed order:
//
//   Authorize(call, key, role)   1. SetKey, authorization on the key
//                                   (PERMISSION_DENIED, the uniform refusal)
//   -> AuthorizedKey                 (the handler may parse its request here:
//                                    parse errors come after authorization)
//   Permit(authorized, purpose)  2. RequireAuditable (UNAVAILABLE)
//   or PermitEnrollment(...)     3. the key may sign: state, purpose,
//                                   certificate valid now (FAILED_PRECONDITION
//                                   saying why; INTERNAL for a stored
//                                   certificate that does not parse)
//                                4. ReserveUse (FAILED_PRECONDITION when the
//                                   usage limit is reached)
//                                5. the signer (UNAVAILABLE from the token)
//   -> SigningPermit
//
// AuthorizedKey and SigningPermit can only be made by the gate (private
// constructors), so a handler cannot skip or reorder a step: without a
// permit there is no Signer. Both are move-only and belong to one call.
// Thread-safe (the gate holds no per-call state).
#ifndef KSEF_SERVICE_SIGNING_GATE_H_
#define KSEF_SERVICE_SIGNING_GATE_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pkcs11/key_store.h"
#include "crypto/signer.h"
#include "service/certificate_cache.h"
#include "service/key_model.h"
#include "service/policy.h"
#include "service/signing_call.h"

namespace ksef::service {

class SigningGate;

// A key the call was authorized to sign with (step 1).
class AuthorizedKey {
 public:
  AuthorizedKey(AuthorizedKey&&) = default;
  AuthorizedKey& operator=(AuthorizedKey&&) = default;
  AuthorizedKey(const AuthorizedKey&) = delete;
  AuthorizedKey& operator=(const AuthorizedKey&) = delete;

  const KeyRecord& key() const { return key_; }

 private:
  friend class SigningGate;
  AuthorizedKey(SigningCall* call, KeyRecord key) : call_(call), key_(std::move(key)) {}

  SigningCall* call_;
  KeyRecord key_;
};

// Leave to sign with one key in one call (steps 1-5 passed).
class SigningPermit {
 public:
  SigningPermit(SigningPermit&&) = default;
  SigningPermit& operator=(SigningPermit&&) = default;
  SigningPermit(const SigningPermit&) = delete;
  SigningPermit& operator=(const SigningPermit&) = delete;

  const KeyRecord& key() const { return key_; }
  // What formats/ signs through (pkcs11::Pkcs11Signer for token keys).
  crypto::Signer& signer() const { return *signer_; }
  // The key's certificate, parsed; null for an enrollment permit (the key
  // may have none yet).
  const CachedCertificate* certificate() const { return certificate_.get(); }

 private:
  friend class SigningGate;
  SigningPermit(KeyRecord key, std::shared_ptr<crypto::Signer> signer,
                std::shared_ptr<const CachedCertificate> certificate)
      : key_(std::move(key)), signer_(std::move(signer)), certificate_(std::move(certificate)) {}

  KeyRecord key_;
  std::shared_ptr<crypto::Signer> signer_;
  std::shared_ptr<const CachedCertificate> certificate_;
};

class SigningGate {
 public:
  using Clock = std::function<absl::Time()>;

  // All must outlive the gate. `certificates` is the server's one cache.
  SigningGate(pkcs11::KeyStore* store, CertificateCache* certificates, Clock clock = absl::Now)
      : store_(store), certificates_(certificates), clock_(std::move(clock)) {}

  // Step 1. `key` as just resolved (KeyManager::Get or CurrentKeyFor, state
  // effective). `call` must outlive the returned key and its permit.
  absl::StatusOr<AuthorizedKey> Authorize(SigningCall& call, KeyRecord key, Role role) const;

  // Steps 2-5 for signing a KSeF document: the key must be ACTIVE, of
  // `purpose`, with a certificate valid now.
  absl::StatusOr<SigningPermit> Permit(AuthorizedKey authorized, KeyPurpose purpose) const;

  // Steps 2-5 for enrollment (CSR, self-signed certificate): the key must be
  // PENDING_CERTIFICATE, ACTIVE or EXPIRED; FAILED_PRECONDITION otherwise.
  absl::StatusOr<SigningPermit> PermitEnrollment(AuthorizedKey authorized) const;

 private:
  // Step 3 of Permit: the key's certificate on success.
  absl::StatusOr<std::shared_ptr<const CachedCertificate>> CheckMaySign(const KeyRecord& key,
                                                                        KeyPurpose purpose) const;
  // Steps 4 and 5.
  absl::StatusOr<SigningPermit> Issue(AuthorizedKey authorized,
                                      std::shared_ptr<const CachedCertificate> certificate) const;

  pkcs11::KeyStore* const store_;
  CertificateCache* const certificates_;
  const Clock clock_;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_SIGNING_GATE_H_
