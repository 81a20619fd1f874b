// Test-only (never linked into ksef-hsmd by use): drives SigningGate the way
// the signing RPCs do, for tests of the code below the RPCs (KeyManager,
// Enrollment) that have no gRPC call, policy or audit log. Every check of
// the call itself (authorization, audit log, usage limit) passes; the key's
// own checks (state, purpose, certificate validity) are the gate's.
#ifndef KSEF_SERVICE_SIGNING_GATE_TESTING_H_
#define KSEF_SERVICE_SIGNING_GATE_TESTING_H_

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/key_manager.h"
#include "service/signing_call.h"
#include "service/signing_gate.h"

namespace ksef::service {

// A SigningCall that allows everything and records nothing.
class AllowAllSigningCallForTesting final : public SigningCall {
 public:
  void SetKey(const KeyRecord&) override {}
  absl::Status Authorize(Role, const Resource&) override { return absl::OkStatus(); }
  absl::Status RequireAuditable() const override { return absl::OkStatus(); }
  absl::Status ReserveUse(const KeyRecord&) override { return absl::OkStatus(); }
};

// KeyManager::Get(name), then the gate's two steps for signing a KSeF
// document with `purpose` (what GetSigningKey(name, purpose) used to be).
inline absl::StatusOr<SigningPermit> PermitForTesting(const SigningGate& gate, KeyManager& keys,
                                                      absl::string_view name, KeyPurpose purpose) {
  AllowAllSigningCallForTesting call;
  absl::StatusOr<KeyRecord> key = keys.Get(name);
  if (!key.ok()) return key.status();
  absl::StatusOr<AuthorizedKey> authorized =
      gate.Authorize(call, *std::move(key), Role::kAuthSigning);
  if (!authorized.ok()) return authorized.status();
  return gate.Permit(*std::move(authorized), purpose);
}

// The same for enrollment (CSR, self-signed certificate).
inline absl::StatusOr<SigningPermit> EnrollmentPermitForTesting(const SigningGate& gate,
                                                                KeyManager& keys,
                                                                absl::string_view name) {
  AllowAllSigningCallForTesting call;
  absl::StatusOr<KeyRecord> key = keys.Get(name);
  if (!key.ok()) return key.status();
  absl::StatusOr<AuthorizedKey> authorized =
      gate.Authorize(call, *std::move(key), Role::kEnrollment);
  if (!authorized.ok()) return authorized.status();
  return gate.PermitEnrollment(*std::move(authorized));
}

}  // namespace ksef::service

#endif  // KSEF_SERVICE_SIGNING_GATE_TESTING_H_
