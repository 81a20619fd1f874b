#include "pkcs11/internal/pkcs11_signer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "pkcs11/internal/ck_status.h"
#include "pkcs11/internal/objects.h"
#include "pkcs11/internal/token.h"

namespace ksef::pkcs11 {

using crypto::KeyAlgorithmName;
using crypto::KeyAlgorithm;
using crypto::SignatureScheme;
namespace {

// DER DigestInfo header for SHA-256 (RFC 8017 section 9.2, note 1).
constexpr char kSha256DigestInfo[] =
    "\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20";

// No scheme of ours needs more (RSA-2048: 256 bytes); a module asking for
// more than this is not trusted with an allocation.
constexpr CK_ULONG kMaxSignatureBytes = 1024;

// How long a sign waits for one of the max_concurrent_signs slots.
constexpr auto kSlotWait = std::chrono::seconds(10);

// Holds a slot for one sign, counting the waiting and the holding.
class SlotGuard {
 public:
  explicit SlotGuard(SignSlots* slots) : slots_(slots) {
    slots_->waiting.fetch_add(1, std::memory_order_relaxed);
    held_ = slots_->slots.try_acquire_for(kSlotWait);
    slots_->waiting.fetch_sub(1, std::memory_order_relaxed);
    if (held_) slots_->in_flight.fetch_add(1, std::memory_order_relaxed);
  }
  ~SlotGuard() {
    if (!held_) return;
    slots_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    slots_->slots.release();
  }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;
  bool held() const { return held_; }

 private:
  SignSlots* const slots_;
  bool held_ = false;
};

}  // namespace

Pkcs11Signer::Pkcs11Signer(Token* token, SignSlots* slots, std::string id,
                           KeyAlgorithm algorithm, std::string public_key_der,
                           CK_OBJECT_HANDLE handle, uint64_t generation)
    : token_(token),
      slots_(slots),
      id_(std::move(id)),
      algorithm_(algorithm),
      public_key_der_(std::move(public_key_der)),
      handle_(handle),
      generation_(generation) {}

absl::StatusOr<CK_OBJECT_HANDLE> Pkcs11Signer::Handle(Session& session, bool refresh) const {
  uint64_t generation = token_->generation();
  {
    absl::MutexLock lock(&mu_);
    if (!refresh && generation_ == generation && handle_ != CK_INVALID_HANDLE) return handle_;
  }
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  KSEF_ASSIGN_OR_RETURN(auto found,
                        FindObjects(session, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, id_)}, 2));
  if (found.empty()) {
    KSEF_RETURN_IF_ERROR(session.EnsureLoggedIn());
    return token_->KnownKeyMissing();
  }
  absl::MutexLock lock(&mu_);
  handle_ = found.front();
  generation_ = generation;
  return handle_;
}

absl::StatusOr<std::string> Pkcs11Signer::SignOnce(Session& session, CK_OBJECT_HANDLE handle,
                                                   SignatureScheme scheme,
                                                   absl::string_view digest,
                                                   bool* stale_handle) const {
  CK_FUNCTION_LIST* f = session.f();
  CK_MECHANISM mech{CKM_ECDSA, nullptr, 0};
  CK_RSA_PKCS_PSS_PARAMS pss{CKM_SHA256, CKG_MGF1_SHA256, 32};
  std::string input(digest);
  size_t expected = 64;
  switch (scheme) {
    case SignatureScheme::kEcdsaSha256:
      break;
    case SignatureScheme::kRsaPkcs1Sha256:
      mech = {CKM_RSA_PKCS, nullptr, 0};
      input = std::string(kSha256DigestInfo, sizeof(kSha256DigestInfo) - 1) + input;
      expected = 256;
      break;
    case SignatureScheme::kRsaPssSha256:
      mech = {CKM_RSA_PKCS_PSS, &pss, sizeof(pss)};
      expected = 256;
      break;
  }
  const absl::Time start = absl::Now();
  CK_RV rv = f->C_SignInit(session.handle(), &mech, handle);
  *stale_handle = rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID;
  if (rv != CKR_OK) {
    if (!*stale_handle) session.Poison();  // e.g. CKR_OPERATION_ACTIVE: a session in doubt
    return session.Check(rv, "C_SignInit");
  }
  std::string sig(expected, '\0');
  CK_ULONG len = sig.size();
  rv = f->C_Sign(session.handle(), reinterpret_cast<CK_BYTE*>(input.data()), input.size(),
                 reinterpret_cast<CK_BYTE*>(sig.data()), &len);
  if (rv == CKR_BUFFER_TOO_SMALL && len <= kMaxSignatureBytes) {
    // The operation is still active: the second call of the size protocol,
    // with the length the module asked for, ends it.
    sig.resize(std::max<size_t>(len, sig.size()));
    len = sig.size();
    rv = f->C_Sign(session.handle(), reinterpret_cast<CK_BYTE*>(input.data()), input.size(),
                   reinterpret_cast<CK_BYTE*>(sig.data()), &len);
  }
  if (rv != CKR_OK) {
    session.Poison();  // the operation may still be active on this session
    return session.Check(rv, "C_Sign");
  }
  if (slots_->on_token_sign) slots_->on_token_sign(algorithm_, absl::Now() - start);
  if (len != expected) {
    return absl::InternalError(absl::StrCat("token returned a ", len, "-byte signature, expected ",
                                            expected));
  }
  sig.resize(len);
  return sig;
}

absl::StatusOr<std::string> Pkcs11Signer::SignDigest(SignatureScheme scheme,
                                                     absl::string_view digest) const {
  if (digest.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("a SHA-256 digest is 32 bytes, got ", digest.size()));
  }
  bool ec_scheme = scheme == SignatureScheme::kEcdsaSha256;
  if (ec_scheme != (algorithm_ == KeyAlgorithm::kEcP256)) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature scheme does not fit a ", KeyAlgorithmName(algorithm_), " key"));
  }
  SlotGuard slot(slots_);
  if (!slot.held()) {
    return absl::ResourceExhaustedError(
        "too many signatures in flight; retry later or raise max_concurrent_signs");
  }
  return token_->WithSession(ObjectAccess::kRead, [&](Session& s) -> absl::StatusOr<std::string> {
    for (int attempt = 0; attempt < 2; ++attempt) {
      KSEF_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE handle, Handle(s, /*refresh=*/attempt > 0));
      bool stale = false;
      auto sig = SignOnce(s, handle, scheme, digest, &stale);
      // A stale handle (object re-created, module re-initialized): look it up again once.
      if (sig.ok() || !stale) return sig;
    }
    return token_->KnownKeyMissing();
  });
}

}  // namespace ksef::pkcs11
