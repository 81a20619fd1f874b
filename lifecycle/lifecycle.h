// The key state machine of ksef-hsmd, written down once: which operation
// moves a key from which state to which, and the FAILED_PRECONDITION with
// which the server refuses the others (word for word). The server's
// KeyManager and the client tests' fake KeyService (client/testing) both
// follow it. Pure: no clock, storage, token or gRPC; the caller hands in the
// facts the rules look at.
//
// States are those of the API (ksef.hsm.v1.KeyState). EXPIRED is never
// stored: it is an ACTIVE key whose certificate's notAfter has passed, so
// the rules see the stored state (EXPIRED counts as ACTIVE, also in the
// messages) and EffectiveState() derives what callers are shown.
//
//   operation             from (stored state)              to (stored state)
//   Enable                DISABLED                         ACTIVE with a certificate,
//                                                          else PENDING_CERTIFICATE
//   Disable               ACTIVE, PENDING_CERTIFICATE      DISABLED
//   ScheduleDestruction   any but SCHEDULED_FOR_DESTRUCTION SCHEDULED_FOR_DESTRUCTION
//   Restore               SCHEDULED_FOR_DESTRUCTION whose  DISABLED (a decision to use
//                         destroy_time is still ahead       it again is needed)
//   ImportCertificate     PENDING_CERTIFICATE, ACTIVE      ACTIVE
//   SetUsageLimit         any but DESTROYED, DESTROYING    unchanged
//   (the destruction sweep) SCHEDULED_FOR_DESTRUCTION whose DESTROYING, then DESTROYED
//                         destroy_time has passed
//
// Keys in CREATING or DESTROYED are NOT_FOUND to the API before any rule is
// asked; the table answers for them as the server's code does. What goes with
// a transition besides the state (destroy_time = now + grace period when
// scheduled, cleared when restored; the new certificate; update_time) is the
// caller's.
#ifndef KSEF_LIFECYCLE_LIFECYCLE_H_
#define KSEF_LIFECYCLE_LIFECYCLE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ksef::lifecycle {

// The server's states (service/key_model.h), with the same numbers.
enum class KeyState {
  kCreating = 0,  // registry row written, key generation not confirmed yet
  kPendingCertificate = 1,
  kActive = 2,
  kDisabled = 3,
  kExpired = 4,  // never stored: derived from the certificate's notAfter
  kScheduledForDestruction = 5,
  kDestroyed = 6,
  // Claimed by a destruction sweep (its grace period is over): the token
  // objects are being removed, by whichever replica claimed it. Stored only;
  // callers are shown SCHEDULED_FOR_DESTRUCTION (the API has no such state),
  // and every operation is refused.
  kDestroying = 7,
};

enum class Operation {
  kEnable,
  kDisable,
  kScheduleDestruction,
  kRestore,
  kImportCertificate,
  kSetUsageLimit,
};

// The API's spelling of a state: "ACTIVE", "PENDING_CERTIFICATE", ...
const char* KeyStateName(KeyState state);

// What the rules look at besides the state.
struct KeyFacts {
  std::string name;  // "keys/<key_id>": the messages name the key
  bool has_certificate = false;
  bool certificate_expired = false;  // has a certificate whose notAfter < now
  std::optional<absl::Time> destroy_time;  // set while scheduled for destruction
  absl::Time now;
};

// The state as stored: EXPIRED is ACTIVE; every other state is itself.
KeyState StoredState(KeyState state);

// The state callers are shown: an ACTIVE key with an expired certificate is
// EXPIRED; DESTROYING is SCHEDULED_FOR_DESTRUCTION; every other state is
// itself.
KeyState EffectiveState(KeyState stored, const KeyFacts& facts);

// The stored state after `op` on a key in `current` (stored or effective),
// or FAILED_PRECONDITION with the server's message.
absl::StatusOr<KeyState> Next(KeyState current, Operation op, const KeyFacts& facts);

}  // namespace ksef::lifecycle

#endif  // KSEF_LIFECYCLE_LIFECYCLE_H_
