#include "service/signing_gate.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "service/audited_call.h"

namespace ksef::service {
namespace {

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<AuthorizedKey> SigningGate::Authorize(SigningCall& call, KeyRecord key,
                                                     Role role) const {
  call.SetKey(key);
  KSEF_RETURN_IF_ERROR(call.Authorize(role, ResourceOf(key)));
  return AuthorizedKey(&call, std::move(key));
}

absl::StatusOr<std::shared_ptr<const CachedCertificate>> SigningGate::CheckMaySign(
    const KeyRecord& key, KeyPurpose purpose) const {
  if (key.purpose != purpose) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", key.name(), " is an ", KeyPurposeName(key.purpose),
                     " key; this operation needs an ", KeyPurposeName(purpose),
                     " key (KSeF certificates are single-purpose)"));
  }
  auto certificate = certificates_->Get(key.certificate_der);
  if (key.state != KeyState::kActive) {
    std::string why = absl::StrCat("key ", key.name(), " is ", KeyStateName(key.state));
    switch (key.state) {
      case KeyState::kPendingCertificate:
        absl::StrAppend(&why, ": it has no certificate yet; import one first");
        break;
      case KeyState::kExpired:
        absl::StrAppend(
            &why, ": its certificate expired at ",
            FormatUtc(certificate.ok() ? (*certificate)->info.not_after : absl::InfinitePast()),
            "; enroll a new key");
        break;
      case KeyState::kDisabled:
        absl::StrAppend(&why, ": enable it first");
        break;
      default:
        break;
    }
    return absl::FailedPreconditionError(why);
  }
  if (!certificate.ok()) {
    return absl::InternalError(
        absl::StrCat("the stored certificate of key ", key.name(), " does not parse"));
  }
  if ((*certificate)->info.not_before > clock_()) {
    return absl::FailedPreconditionError(absl::StrCat("the certificate of key ", key.name(),
                                                      " is not valid before ",
                                                      FormatUtc((*certificate)->info.not_before)));
  }
  return certificate;
}

absl::StatusOr<SigningPermit> SigningGate::Issue(
    AuthorizedKey authorized, std::shared_ptr<const CachedCertificate> certificate) const {
  KSEF_RETURN_IF_ERROR(authorized.call_->ReserveUse(authorized.key_));
  KSEF_ASSIGN_OR_RETURN(std::shared_ptr<crypto::Signer> signer,
                        store_->GetSigner(authorized.key_.cka_id));
  return SigningPermit(std::move(authorized.key_), std::move(signer), std::move(certificate));
}

absl::StatusOr<SigningPermit> SigningGate::Permit(AuthorizedKey authorized,
                                                  KeyPurpose purpose) const {
  KSEF_RETURN_IF_ERROR(authorized.call_->RequireAuditable());
  KSEF_ASSIGN_OR_RETURN(std::shared_ptr<const CachedCertificate> certificate,
                        CheckMaySign(authorized.key_, purpose));
  return Issue(std::move(authorized), std::move(certificate));
}

absl::StatusOr<SigningPermit> SigningGate::PermitEnrollment(AuthorizedKey authorized) const {
  KSEF_RETURN_IF_ERROR(authorized.call_->RequireAuditable());
  const KeyRecord& key = authorized.key_;
  if (key.state != KeyState::kPendingCertificate && key.state != KeyState::kActive &&
      key.state != KeyState::kExpired) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", key.name(), " is ", KeyStateName(key.state),
                     "; only PENDING_CERTIFICATE, ACTIVE or EXPIRED keys can be enrolled",
                     key.state == KeyState::kDisabled ? " (enable it first)" : ""));
  }
  return Issue(std::move(authorized), nullptr);
}

}  // namespace ksef::service
