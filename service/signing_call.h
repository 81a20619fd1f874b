// SigningCall: the four steps of a call that SigningGate drives, in the
// gate's order, before a key may sign. AuditedCall is the one production
// implementation (signing_gate_testing.h has an allow-all one for tests of
// the code below the RPCs). Only SigningGate calls these through this
// interface.
#ifndef KSEF_SERVICE_SIGNING_CALL_H_
#define KSEF_SERVICE_SIGNING_CALL_H_

#include "absl/status/status.h"
#include "service/key_model.h"
#include "service/policy.h"

namespace ksef::service {

class SigningCall {
 public:
  virtual ~SigningCall() = default;
  // What the event records as the key.
  virtual void SetKey(const KeyRecord& key) = 0;
  // The caller holds `role` on `resource`, else the uniform refusal.
  virtual absl::Status Authorize(Role role, const Resource& resource) = 0;
  // UNAVAILABLE while the audit log cannot write.
  virtual absl::Status RequireAuditable() const = 0;
  // Takes one use of the key's usage limit (FAILED_PRECONDITION when reached).
  virtual absl::Status ReserveUse(const KeyRecord& key) = 0;
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_SIGNING_CALL_H_
