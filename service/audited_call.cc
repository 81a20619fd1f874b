#include "service/audited_call.h"

#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/log.h"
#include "service/grpc_status.h"

namespace ksef::service {
namespace {

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  return HexUpper(absl::string_view(reinterpret_cast<char*>(md), sizeof(md)));
}

const char* SubjectTypeWord(SubjectType type) {
  switch (type) {
    case SubjectType::kNip:
      return "nip";
    case SubjectType::kPesel:
      return "pesel";
    case SubjectType::kCertificateFingerprint:
      return "fingerprint";
  }
  return "unknown";
}

std::string Describe(const Resource& r) {
  if (!r.key_id.empty()) return absl::StrCat("key keys/", r.key_id);
  if (r.subject_type) return absl::StrCat("subject ", SubjectString(*r.subject_type, r.subject_value));
  return "all keys (scope *)";
}

}  // namespace

std::string SubjectString(SubjectType type, const std::string& value) {
  return absl::StrCat(SubjectTypeWord(type), ":", value);
}

Resource ResourceOf(const KeyRecord& key) {
  return Resource::Key(key.subject_type, key.subject_value, key.key_id);
}

AuditedCall::AuditedCall(const AccessGuard& guard, const grpc::ServerContext& context,
                         std::string operation)
    : guard_(guard), caller_(CallerOf(context)) {
  event_.operation = std::move(operation);
  if (caller_) {
    event_.caller.subject = caller_->subject;
    event_.caller.issuer = caller_->issuer;
    event_.caller.serial = caller_->serial;
    identities_ = guard_.policy()->current()->Match(*caller_);
    if (!identities_.empty()) event_.caller.name = identities_.front();
  }
}

absl::Status AuditedCall::Authorize(Role role, const Resource& resource) {
  return AuthorizeAny({role}, resource);
}

absl::Status AuditedCall::AuthorizeAny(std::initializer_list<Role> roles,
                                       const Resource& resource) {
  if (!caller_) {
    denied_ = true;
    return absl::UnauthenticatedError(
        "no client certificate: ksef-hsmd identifies callers by their TLS client certificate "
        "(mTLS); configure --client-cert/--client-key");
  }
  std::shared_ptr<const Policy> policy = guard_.policy()->current();
  std::string names;
  for (Role role : roles) {
    if (policy->Allows(identities_, role, resource)) return absl::OkStatus();
    absl::StrAppend(&names, names.empty() ? "" : " or ", RoleName(role));
  }
  denied_ = true;
  return absl::PermissionDeniedError(absl::StrCat(
      "caller '", caller_->subject, "'",
      identities_.empty() ? " matches no identity in the policy"
                          : absl::StrCat(" (identity ", identities_.front(), ")"),
      " has no ", names, " grant for ", Describe(resource),
      "; ask the operators to add one to the policy file"));
}

absl::Status AuditedCall::LookupFailed(const absl::Status& status,
                                       std::initializer_list<Role> roles) {
  if (!absl::IsNotFound(status)) return status;
  if (!caller_) return AuthorizeAny(roles, Resource::Everything());  // UNAUTHENTICATED
  std::shared_ptr<const Policy> policy = guard_.policy()->current();
  for (Role role : roles) {
    if (policy->Allows(identities_, role, Resource::Everything())) return status;
  }
  denied_ = true;
  return absl::PermissionDeniedError(absl::StrCat(
      "caller '", caller_->subject, "' may not use this key (or it does not exist); ask the "
      "operators for a grant in the policy file"));
}

absl::Status AuditedCall::RequireAuditable() const {
  if (guard_.log()->healthy()) return absl::OkStatus();
  return absl::UnavailableError(
      "the audit log cannot write, so no key may be used or changed now (fail closed); "
      "retry later");
}

absl::Status AuditedCall::ReserveUse(const KeyRecord& key) {
  absl::Status s = guard_.limiter()->Reserve(key);
  if (s.ok() && key.usage_limit > 0) reserved_key_ = key.name();
  return s;
}

void AuditedCall::SetKey(const KeyRecord& key) {
  event_.key_name = key.name();
  event_.key_public_hash = key.public_key_der.empty() ? "" : Sha256Hex(key.public_key_der);
  event_.subject = SubjectString(key.subject_type, key.subject_value);
}

void AuditedCall::SetSubject(SubjectType type, const std::string& value) {
  event_.subject = SubjectString(type, value);
}

void AuditedCall::SetSignedBytes(absl::string_view bytes) {
  event_.signed_sha256 = Sha256Hex(bytes);
}

audit::AuditEvent AuditedCall::EndEvent(const absl::Status& status) {
  finished_ = true;
  event_.outcome = status.ok() ? audit::Outcome::kSuccess
                               : (denied_ ? audit::Outcome::kDenied : audit::Outcome::kFailure);
  event_.status_code = static_cast<int>(status.code());
  event_.message = std::string(status.message());
  return std::move(event_);
}

void AuditedCall::Settle(bool succeeded_and_recorded) {
  if (reserved_key_.empty()) return;
  guard_.limiter()->Release(reserved_key_, succeeded_and_recorded);
  reserved_key_.clear();
}

grpc::Status AuditedCall::Finish(const absl::Status& status) {
  if (finished_) {
    LogError("internal: ", event_.operation, " finished twice; the second result is dropped");
    return ToGrpcStatus(absl::InternalError("internal error"));
  }
  auto recorded = guard_.log()->Record(EndEvent(status));
  Settle(status.ok() && recorded.ok());
  if (!recorded.ok()) return ToGrpcStatus(recorded.status());
  return ToGrpcStatus(status);
}

}  // namespace ksef::service
