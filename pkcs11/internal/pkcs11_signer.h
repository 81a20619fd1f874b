// Pkcs11Signer: crypto::Signer over a private key in the token.
//
// Hot path: take a sign slot (bounded: more signs in flight than cores only
// raises latency on SoftHSM2), then Token::WithSession (object lock, then a
// session), C_SignInit + C_Sign with the cached object handle. The time of
// C_SignInit + C_Sign goes to the store's TokenSignObserver, if any. C_Sign gets a
// buffer of the size the scheme needs and follows the PKCS#11 size protocol
// if the module asks for more (CKR_BUFFER_TOO_SMALL keeps the operation
// active: the second call completes it). Any other failure after C_SignInit
// poisons the session, which is then closed, not reused. The handle is
// re-resolved by CKA_ID when the token generation changed or the module says
// the handle is invalid; a key that is then not visible is UNAVAILABLE
// (Token::KnownKeyMissing), never NOT_FOUND.
// Thread-safe. Internal to pkcs11/ (created by KeyStore::GetSigner).
#ifndef KSEF_PKCS11_INTERNAL_PKCS11_SIGNER_H_
#define KSEF_PKCS11_INTERNAL_PKCS11_SIGNER_H_

#include <atomic>
#include <memory>
#include <semaphore>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "crypto/signer.h"
#include "pkcs11/key_store.h"
#include "pkcs11/internal/pkcs11_api.h"
#include "pkcs11/internal/session.h"

namespace ksef::pkcs11 {

class Token;

// The signs of one KeyStore: at most max_concurrent_signs hold a slot; the
// counts and the observer are for metrics (KeyStore::sign_load).
struct SignSlots {
  SignSlots(int max_signs, TokenSignObserver observer)
      : slots(max_signs), on_token_sign(std::move(observer)) {}
  std::counting_semaphore<4096> slots;
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> waiting{0};
  const TokenSignObserver on_token_sign;  // may be empty
};

class Pkcs11Signer : public crypto::Signer {
 public:
  Pkcs11Signer(Token* token, SignSlots* slots, std::string id, crypto::KeyAlgorithm algorithm,
               std::string public_key_der, CK_OBJECT_HANDLE handle, uint64_t generation);

  crypto::KeyAlgorithm algorithm() const override { return algorithm_; }
  const std::string& public_key_der() const override { return public_key_der_; }
  absl::StatusOr<std::string> SignDigest(crypto::SignatureScheme scheme,
                                         absl::string_view digest) const override;
  // The cached object handle and the token generation it is valid in.
  std::pair<CK_OBJECT_HANDLE, uint64_t> cached_handle() const {
    absl::MutexLock lock(&mu_);
    return {handle_, generation_};
  }

 private:
  absl::StatusOr<CK_OBJECT_HANDLE> Handle(Session& session, bool refresh) const;
  // `stale_handle` is set when the module rejected the key handle.
  absl::StatusOr<std::string> SignOnce(Session& session, CK_OBJECT_HANDLE handle,
                                       crypto::SignatureScheme scheme, absl::string_view digest,
                                       bool* stale_handle) const;

  Token* const token_;
  SignSlots* const slots_;
  const std::string id_;
  const crypto::KeyAlgorithm algorithm_;
  const std::string public_key_der_;
  mutable absl::Mutex mu_;
  mutable CK_OBJECT_HANDLE handle_ ABSL_GUARDED_BY(mu_);
  mutable uint64_t generation_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_PKCS11_SIGNER_H_
