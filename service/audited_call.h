// Access control and audit for every RPC (design.md sections 1 and 6).
//
// Each handler makes one AuditedCall, authorizes what it is about to touch,
// and ends with Finish(), which writes exactly one audit event (allowed or
// denied, success or failure) and only then returns the result:
//
//   AuditedCall call(*guard_, *context, "DisableKey");
//   auto key = keys_->Get(request->name());
//   if (!key.ok()) return call.Finish(key.status());
//   call.SetKey(*key);
//   if (auto s = call.Authorize(Role::kKeyAdmin, ResourceOf(*key)); !s.ok()) return call.Finish(s);
//   ...
//   return call.Finish(result_status);
//
// If the event cannot be made durable, Finish() returns UNAVAILABLE instead
// of the result: a caller never gets a signature whose use is not recorded.
// Thread-compatible (one per call); AccessGuard is thread-safe.
#ifndef KSEF_SERVICE_AUDITED_CALL_H_
#define KSEF_SERVICE_AUDITED_CALL_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "audit/audit_log.h"
#include "service/caller_identity.h"
#include "service/key_model.h"
#include "service/policy.h"
#include "service/usage_limiter.h"

namespace ksef::service {

class AccessGuard {
 public:
  // All must outlive the guard.
  AccessGuard(PolicyHolder* policy, audit::AuditLog* log, UsageLimiter* limiter)
      : policy_(policy), log_(log), limiter_(limiter) {}
  PolicyHolder* policy() const { return policy_; }
  audit::AuditLog* log() const { return log_; }
  UsageLimiter* limiter() const { return limiter_; }

 private:
  PolicyHolder* const policy_;
  audit::AuditLog* const log_;
  UsageLimiter* const limiter_;
};

// "nip:5265877635", the subject as audit events and policy scopes write it.
std::string SubjectString(SubjectType type, const std::string& value);

// The resource a key is: its subject and id.
Resource ResourceOf(const KeyRecord& key);

class AuditedCall {
 public:
  AuditedCall(const AccessGuard& guard, const grpc::ServerContext& context, std::string operation);
  // Gives back a usage reservation that was never settled.
  ~AuditedCall() { Settle(false); }
  AuditedCall(const AuditedCall&) = delete;
  AuditedCall& operator=(const AuditedCall&) = delete;

  // OK if the caller holds `role` for `resource` under the policy in force.
  // UNAUTHENTICATED without a client certificate; PERMISSION_DENIED (saying
  // which role and resource) otherwise. Either marks the event DENIED.
  absl::Status Authorize(Role role, const Resource& resource);
  // As Authorize, satisfied by any of `roles` (reading a key: any role on it).
  absl::Status AuthorizeAny(std::initializer_list<Role> roles, const Resource& resource);

  // For a failed key lookup: NOT_FOUND only for callers who hold one of
  // `roles` on '*' (they could see the key if it existed); anyone else gets
  // the same PERMISSION_DENIED as for an existing key they may not use, so
  // key names cannot be probed. Other errors pass through.
  absl::Status LookupFailed(const absl::Status& status, std::initializer_list<Role> roles);

  // UNAVAILABLE while the audit log cannot write: operations that change
  // state or sign are not started then (fail closed).
  absl::Status RequireAuditable() const;

  // Before a signature: takes one use of the key's usage limit
  // (FAILED_PRECONDITION when reached). Finish() counts it if the call
  // succeeded and gives it back otherwise.
  absl::Status ReserveUse(const KeyRecord& key);

  // What the event records besides caller, operation and outcome.
  void SetKey(const KeyRecord& key);
  void SetSubject(SubjectType type, const std::string& value);
  void SetContext(std::string context) { event_.context = std::move(context); }
  // SHA-256 (lowercase or uppercase hex accepted, stored uppercase) of the exact bytes signed.
  void SetSignedBytes(absl::string_view bytes);
  // When the signed bytes are a digest already (XAdES SignedInfo): its hex.
  void SetSignedSha256(std::string hex) { event_.signed_sha256 = std::move(hex); }

  // Writes the event and converts `status` for gRPC; see the file comment.
  grpc::Status Finish(const absl::Status& status);

  // Finish in two steps, for streams that write many events in one commit
  // (AuditLog::RecordAll): EndEvent() closes the call with `status` and
  // returns its event; Settle() then says whether it was recorded (a usage
  // reservation is counted only if the call succeeded and was recorded).
  audit::AuditEvent EndEvent(const absl::Status& status);
  void Settle(bool succeeded_and_recorded);

  // The caller's certificate, if any (for handlers that filter by it).
  const std::optional<CallerCertificate>& caller() const { return caller_; }

 private:
  const AccessGuard& guard_;
  std::optional<CallerCertificate> caller_;
  std::vector<std::string> identities_;
  audit::AuditEvent event_;
  bool denied_ = false;
  bool finished_ = false;
  std::string reserved_key_;  // key name with a usage reservation, if any
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_AUDITED_CALL_H_
