// Access control and audit for every RPC (design.md sections 1, 6 and 6a).
//
// Each handler makes one AuditedCall and follows one order: authenticate,
// then authorize, then parse and resolve (design.md 6a):
//
//   AuditedCall call(*guard_, *context, "DisableKey");
//   call.RequestKey(request->name());        // recorded only if well-formed
//   KSEF_RETURN_IF_ERROR(call.Admit({Role::kKeyAdmin}));    // identity, any grant
//   auto key = keys_->Get(request->name());
//   if (!key.ok()) return call.Finish(call.LookupFailed(key.status()));
//   call.SetKey(*key);
//   if (auto s = call.Authorize(Role::kKeyAdmin, ResourceOf(*key)); !s.ok()) ...
//   ...
//   return call.Finish(result_status);
//
// A handler that signs takes the key through SigningGate instead of
// Authorize(): the gate authorizes, checks the audit log, the key's state
// and certificate, reserves a use, and only then hands out the signer
// (signing_gate.h).
//
// Admit() refuses a call without a client certificate (UNAUTHENTICATED) or
// whose caller holds none of the operation's roles anywhere
// (PERMISSION_DENIED) before the request is looked at. Every later refusal
// (no grant for this key or subject, a key that does not exist) carries the
// same code and message, so answers never tell whether a key or subject
// exists. A refused call's event keeps only bounded fields (operation,
// caller, peer, the requested key name or subject if well-formed) and goes
// through RefusalLog, which aggregates floods; so does the event of a call
// that failed UNAVAILABLE (token or audit log unavailable: nothing was done,
// and an outage under load must not flood the log). Finish() writes every
// other event durably and only then returns the result. If the event cannot be
// made durable, Finish() returns UNAVAILABLE instead of the result: a caller
// never gets a signature whose use is not recorded.
// Thread-compatible (one per call); AccessGuard is thread-safe.
#ifndef KSEF_SERVICE_AUDITED_CALL_H_
#define KSEF_SERVICE_AUDITED_CALL_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"
#include "crypto/signer.h"
#include "metrics/metrics.h"
#include "service/caller_identity.h"
#include "service/certificate_cache.h"
#include "service/key_model.h"
#include "service/policy.h"
#include "service/refusal_log.h"
#include "service/signing_call.h"
#include "service/usage_limiter.h"

namespace ksef::service {

class AccessGuard {
 public:
  // All must outlive the guard.
  // `read_durability`: how far the event of a call that reads and changes
  // nothing must reach before the call returns (ServerConfig
  // audit_durable_reads); every other event is kDurable.
  AccessGuard(PolicyHolder* policy, audit::AuditLog* log, UsageLimiter* limiter,
              RefusalLog* refusals, CertificateCache* certificates, metrics::Metrics* metrics,
              audit::Durability read_durability)
      : policy_(policy),
        log_(log),
        limiter_(limiter),
        refusals_(refusals),
        certificates_(certificates),
        metrics_(metrics),
        read_durability_(read_durability) {}
  PolicyHolder* policy() const { return policy_; }
  audit::AuditLog* log() const { return log_; }
  UsageLimiter* limiter() const { return limiter_; }
  RefusalLog* refusals() const { return refusals_; }
  // Parses each caller's certificate once (CallerOf).
  CertificateCache* certificates() const { return certificates_; }
  // Signing latencies (AuditedCall::Settle).
  metrics::Metrics* metrics() const { return metrics_; }
  audit::Durability read_durability() const { return read_durability_; }

 private:
  PolicyHolder* const policy_;
  audit::AuditLog* const log_;
  UsageLimiter* const limiter_;
  RefusalLog* const refusals_;
  CertificateCache* const certificates_;
  metrics::Metrics* const metrics_;
  const audit::Durability read_durability_;
};

// "nip:5265877635", the subject as audit events and policy scopes write it.
std::string SubjectString(SubjectType type, const std::string& value);

// The resource a key is: its subject and id.
Resource ResourceOf(const KeyRecord& key);

class AuditedCall : public SigningCall {
 public:
  AuditedCall(const AccessGuard& guard, const grpc::ServerContextBase& context,
              std::string operation);
  // Gives back a usage reservation that was never settled.
  ~AuditedCall() override { Settle(false); }
  AuditedCall(const AuditedCall&) = delete;
  AuditedCall& operator=(const AuditedCall&) = delete;

  // The first step of every handler. UNAUTHENTICATED without a client
  // certificate; PERMISSION_DENIED (the uniform refusal) when the caller holds
  // none of `roles` in any scope. Remembers `roles` for the refusal message.
  absl::Status Admit(std::initializer_list<Role> roles);

  // What the caller asked for, for the event: the name or subject as sent if
  // well-formed and short, else a marker with its length (never the bytes).
  void RequestKey(absl::string_view name);
  void RequestSubject(SubjectType type, absl::string_view value);

  // OK if the caller holds `role` (or any of `roles`) for `resource`;
  // otherwise the uniform PERMISSION_DENIED (UNAUTHENTICATED without a
  // certificate). Marks the call refused.
  absl::Status Authorize(Role role, const Resource& resource) override;
  absl::Status AuthorizeAny(std::initializer_list<Role> roles, const Resource& resource);

  // For a failed key lookup: NOT_FOUND only for callers who hold one of the
  // admitted roles on '*' (they could see the key if it existed); anyone
  // else gets the uniform PERMISSION_DENIED, exactly as for an existing key
  // they may not use. Other errors pass through.
  absl::Status LookupFailed(const absl::Status& status);

  // True once the call was refused by access control (its event goes to
  // RefusalLog, see EndEvent).
  bool refused() const { return denied_; }

  // UNAVAILABLE while the audit log cannot write: operations that change
  // state or sign are not started then (fail closed).
  absl::Status RequireAuditable() const override;

  // Before a signature (SigningGate calls it; signing handlers never do):
  // takes one use of the key's usage limit (FAILED_PRECONDITION when reached). Finish() counts it if the call
  // succeeded and gives it back otherwise. A call that reserved a use signs:
  // once it succeeded and was recorded, its whole time goes to the signing
  // latency metric (by operation and the key's algorithm).
  absl::Status ReserveUse(const KeyRecord& key) override;

  // What the event records besides caller, operation and outcome.
  void SetKey(const KeyRecord& key) override;
  void SetContext(std::string context) { event_.context = std::move(context); }
  // SHA-256 (lowercase or uppercase hex accepted, stored uppercase) of the exact bytes signed.
  void SetSignedBytes(absl::string_view bytes);
  // When the signed bytes are a digest already (XAdES SignedInfo): its hex.
  void SetSignedSha256(std::string hex) { event_.signed_sha256 = std::move(hex); }

  // Writes the event and converts `status` for gRPC; see the file comment.
  grpc::Status Finish(const absl::Status& status);
  // For a request that could not even be read (MalformedRequestInterceptor):
  // a FAILURE event with `status`, aggregated through RefusalLog like a
  // refusal (nothing was done, and a flood must not fill the store).
  grpc::Status FinishMalformed(const absl::Status& status);

  // Finish in two steps, for streams that write many events in one commit
  // (AuditLog::RecordAll): EndEvent() closes the call with `status` and
  // returns its event; Settle() then says whether it was recorded (a usage
  // reservation is counted only if the call succeeded and was recorded, and
  // so is the signing latency).
  // The event of a refused() call holds no context or signed hash; give it
  // to guard.refusals() instead of the log.
  audit::AuditEvent EndEvent(const absl::Status& status);
  void Settle(bool succeeded_and_recorded);
  // Hands `event` to the refusal log (aggregated per window), without its
  // context and signed digest.
  void CountAsRefusal(audit::AuditEvent event);

  // The caller's certificate, if any (for handlers that filter by it).
  const std::optional<CallerCertificate>& caller() const { return caller_; }

 private:
  absl::Status Refuse();  // the uniform refusal of this caller and operation
  void ObserveSignature();  // once, for a signing call that succeeded and was recorded

  const AccessGuard& guard_;
  std::optional<CallerCertificate> caller_;
  std::vector<std::string> identities_;
  std::string admitted_roles_;  // "offline-signing", for the uniform refusal
  std::vector<Role> roles_;     // the roles Admit() was given
  audit::AuditEvent event_;
  bool denied_ = false;
  bool finished_ = false;
  std::string reserved_key_;  // key name with a usage reservation, if any
  const absl::Time start_;
  std::optional<metrics::SignOperation> sign_operation_;  // for a signing RPC
  std::optional<crypto::KeyAlgorithm> signing_algorithm_;  // set by ReserveUse
  bool signature_observed_ = false;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_AUDITED_CALL_H_
