#include "service/audited_call.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/utf8.h"
#include "crypto/sha256.h"
#include "service/grpc_status.h"
#include "service/key_manager.h"

namespace ksef::service {
namespace {

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

// A caller-supplied value that is not recorded: only how long it was.
std::string Withheld(absl::string_view what, size_t size) {
  return absl::StrCat("(", what, " not recorded: malformed, ", size, " bytes)");
}

constexpr size_t kMaxRecordedName = 200;

// The RPCs that read and change nothing: no signature, no key or registry
// change, no token write. Their events may be recorded kCommitted
// (AccessGuard::read_durability).
bool ReadsOnly(absl::string_view operation) {
  static constexpr absl::string_view kReads[] = {
      "GetKey",          "ListKeys",       "GetPublicKey",     "GetKeyUsage",
      "ListAuditEvents", "VerifyAuditLog", "GetAuditPublicKey"};
  for (absl::string_view read : kReads) {
    if (operation == read) return true;
  }
  return false;
}

// The signing RPCs, as the signing latency metric names them.
std::optional<metrics::SignOperation> SignOperationOf(absl::string_view operation) {
  if (operation == "SignAuthToken") return metrics::SignOperation::kAuthToken;
  if (operation == "SignOfflineInvoice" || operation == "SignOfflineInvoices") {
    return metrics::SignOperation::kOfflineInvoice;
  }
  if (operation == "GenerateCsr") return metrics::SignOperation::kCsr;
  if (operation == "IssueSelfSignedCertificate") {
    return metrics::SignOperation::kSelfSignedCertificate;
  }
  return std::nullopt;
}

}  // namespace

std::string SubjectString(SubjectType type, const std::string& value) {
  return absl::StrCat(SubjectTypeWord(type), ":", value);
}

Resource ResourceOf(const KeyRecord& key) {
  return Resource::Key(key.subject_type, key.subject_value, key.key_id);
}

AuditedCall::AuditedCall(const AccessGuard& guard, const grpc::ServerContextBase& context,
                         std::string operation)
    : guard_(guard), caller_(CallerOf(context, *guard.certificates())), start_(absl::Now()) {
  sign_operation_ = SignOperationOf(operation);
  event_.operation = std::move(operation);
  event_.peer = context.peer();
  if (caller_) {
    event_.caller.subject = caller_->subject;
    event_.caller.issuer = caller_->issuer;
    event_.caller.serial = caller_->serial;
    identities_ = guard_.policy()->current()->Match(*caller_);
    if (!identities_.empty()) event_.caller.name = identities_.front();
  }
}

absl::Status AuditedCall::Admit(std::initializer_list<Role> roles) {
  roles_.assign(roles.begin(), roles.end());
  admitted_roles_.clear();
  for (Role role : roles) {
    absl::StrAppend(&admitted_roles_, admitted_roles_.empty() ? "" : " or ", RoleName(role));
  }
  if (!caller_) return Refuse();
  std::shared_ptr<const Policy> policy = guard_.policy()->current();
  for (Role role : roles) {
    if (policy->HoldsAnywhere(identities_, role)) return absl::OkStatus();
  }
  return Refuse();
}

absl::Status AuditedCall::Refuse() {
  denied_ = true;
  if (!caller_) {
    return absl::UnauthenticatedError(
        "no client certificate: ksef-hsmd identifies callers by their TLS client certificate "
        "(mTLS); configure --client-cert/--client-key");
  }
  // The same words whether or not the key or subject exists, and whether the
  // caller has no grant at all or only none for this key (design.md 6a).
  return absl::PermissionDeniedError(absl::StrCat(
      "caller '", caller_->subject, "' may not call ", event_.operation,
      " for the requested key or subject, or it does not exist; ask the operators for a ",
      admitted_roles_.empty() ? "grant" : absl::StrCat(admitted_roles_, " grant"),
      " in the policy file"));
}

void AuditedCall::RequestKey(absl::string_view name) {
  const bool well_formed =
      name.size() <= kMaxRecordedName &&
      (KeyIdFromName(name).ok() || (absl::StartsWith(name, "pkcs11:") && IsValidUtf8(name)));
  event_.key_name = well_formed ? std::string(name) : Withheld("key name", name.size());
}

void AuditedCall::RequestSubject(SubjectType type, absl::string_view value) {
  std::string normalized(value.substr(0, kMaxRecordedName + 1));
  const bool well_formed =
      value.size() <= kMaxRecordedName && NormalizeSubject(type, normalized).ok();
  event_.subject =
      well_formed ? SubjectString(type, normalized) : Withheld("subject", value.size());
}

absl::Status AuditedCall::Authorize(Role role, const Resource& resource) {
  return AuthorizeAny({role}, resource);
}

absl::Status AuditedCall::AuthorizeAny(std::initializer_list<Role> roles,
                                       const Resource& resource) {
  if (!caller_) return Refuse();
  std::shared_ptr<const Policy> policy = guard_.policy()->current();
  for (Role role : roles) {
    if (policy->Allows(identities_, role, resource)) return absl::OkStatus();
  }
  return Refuse();
}

absl::Status AuditedCall::LookupFailed(const absl::Status& status) {
  if (!absl::IsNotFound(status)) return status;
  if (!caller_) return Refuse();
  std::shared_ptr<const Policy> policy = guard_.policy()->current();
  for (Role role : roles_) {
    if (policy->Allows(identities_, role, Resource::Everything())) return status;
  }
  return Refuse();
}

absl::Status AuditedCall::RequireAuditable() const {
  if (guard_.log()->healthy()) return absl::OkStatus();
  return absl::UnavailableError(
      "the audit log cannot write, so no key may be used or changed now (fail closed); "
      "retry later");
}

absl::Status AuditedCall::ReserveUse(const KeyRecord& key) {
  absl::Status s = guard_.limiter()->Reserve(key);
  if (s.ok() && key.usage_limit > 0) reserved_key_ = key.key_id;
  if (s.ok()) signing_algorithm_ = key.algorithm;
  return s;
}

void AuditedCall::SetKey(const KeyRecord& key) {
  event_.key_name = key.name();
  event_.key_public_hash = key.public_key_der.empty() ? "" : crypto::Sha256Hex(key.public_key_der);
  event_.subject = SubjectString(key.subject_type, key.subject_value);
}

void AuditedCall::SetSignedBytes(absl::string_view bytes) {
  event_.signed_sha256 = crypto::Sha256Hex(bytes);
}

audit::AuditEvent AuditedCall::EndEvent(const absl::Status& status) {
  finished_ = true;
  if (denied_) {
    // Never a payload in a refused call's event (design.md 6a).
    event_.context.clear();
    event_.signed_sha256.clear();
  }
  event_.outcome = status.ok() ? audit::Outcome::kSuccess
                               : (denied_ ? audit::Outcome::kDenied : audit::Outcome::kFailure);
  event_.status_code = static_cast<int>(status.code());
  event_.message = std::string(status.message());
  return std::move(event_);
}

void AuditedCall::ObserveSignature() {
  if (!sign_operation_ || !signing_algorithm_ || signature_observed_) return;
  signature_observed_ = true;
  guard_.metrics()->ObserveSign(*sign_operation_, *signing_algorithm_, absl::Now() - start_);
}

void AuditedCall::Settle(bool succeeded_and_recorded) {
  if (succeeded_and_recorded) ObserveSignature();
  if (reserved_key_.empty()) return;
  guard_.limiter()->Release(reserved_key_, succeeded_and_recorded);
  reserved_key_.clear();
}

grpc::Status AuditedCall::Finish(const absl::Status& status) {
  if (finished_) {
    LogError("internal: ", event_.operation, " finished twice; the second result is dropped");
    return ToGrpcStatus(absl::InternalError("internal error"));
  }
  if (denied_ || absl::IsUnavailable(status)) {
    // Refused, or nothing could be done now (the token or the audit log is
    // unavailable): no signature leaves, so the event is aggregated like a
    // refusal. An outage under load then cannot fill the audit log's window
    // of events that wait for a checkpoint (which the audit key, on the same
    // token, cannot sign meanwhile).
    CountAsRefusal(EndEvent(status));
    Settle(false);
    return ToGrpcStatus(status);
  }
  const audit::Durability durability = ReadsOnly(event_.operation) ? guard_.read_durability()
                                                                    : audit::Durability::kDurable;
  audit::AuditEvent unrecorded;
  auto recorded = guard_.log()->Record(EndEvent(status), durability, &unrecorded);
  Settle(status.ok() && recorded.ok());
  if (!recorded.ok()) {
    // The result is replaced by the log's UNAVAILABLE (no signature leaves),
    // and the attempt is counted like the refusals above.
    unrecorded.outcome = audit::Outcome::kFailure;
    unrecorded.status_code = static_cast<int>(recorded.status().code());
    unrecorded.message = std::string(recorded.status().message());
    CountAsRefusal(std::move(unrecorded));
    return ToGrpcStatus(recorded.status());
  }
  return ToGrpcStatus(status);
}

grpc::Status AuditedCall::FinishMalformed(const absl::Status& status) {
  CountAsRefusal(EndEvent(status));
  return ToGrpcStatus(status);
}

void AuditedCall::CountAsRefusal(audit::AuditEvent event) {
  // No signature left the server: no payload in the aggregated event.
  event.context.clear();
  event.signed_sha256.clear();
  guard_.refusals()->Add(std::move(event));
}

}  // namespace ksef::service
