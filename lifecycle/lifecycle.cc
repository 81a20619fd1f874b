#include "lifecycle/lifecycle.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ksef::lifecycle {
namespace {

absl::Status Refuse(const KeyFacts& key, KeyState state, const char* rule,
                    const char* hint = "") {
  return absl::FailedPreconditionError(
      absl::StrCat("key ", key.name, " is ", KeyStateName(state), "; ", rule, hint));
}

absl::Status BeingDestroyed(const KeyFacts& key) {
  return absl::FailedPreconditionError(
      absl::StrCat("the grace period of key ", key.name, " is over; it is being destroyed"));
}

absl::StatusOr<KeyState> Enable(KeyState state, const KeyFacts& key) {
  if (state != KeyState::kDisabled) {
    return Refuse(key, state, "only DISABLED keys can be enabled",
                  state == KeyState::kScheduledForDestruction ? " (restore it first)" : "");
  }
  return key.has_certificate ? KeyState::kActive : KeyState::kPendingCertificate;
}

absl::StatusOr<KeyState> Disable(KeyState state, const KeyFacts& key) {
  if (state != KeyState::kActive && state != KeyState::kPendingCertificate) {
    return Refuse(key, state, "only ACTIVE or PENDING_CERTIFICATE keys can be disabled");
  }
  return KeyState::kDisabled;
}

absl::StatusOr<KeyState> ScheduleDestruction(KeyState state, const KeyFacts& key) {
  if (state == KeyState::kScheduledForDestruction) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key ", key.name, " is already scheduled for destruction at ",
        absl::FormatTime(absl::RFC3339_sec, key.destroy_time.value_or(absl::InfinitePast()),
                         absl::UTCTimeZone())));
  }
  return KeyState::kScheduledForDestruction;
}

absl::StatusOr<KeyState> Restore(KeyState state, const KeyFacts& key) {
  if (state != KeyState::kScheduledForDestruction) {
    return Refuse(key, state, "only keys scheduled for destruction can be restored");
  }
  if (key.destroy_time && *key.destroy_time <= key.now) return BeingDestroyed(key);
  return KeyState::kDisabled;  // restored keys come back disabled
}

absl::StatusOr<KeyState> ImportCertificate(KeyState state, const KeyFacts& key) {
  if (state != KeyState::kPendingCertificate && state != KeyState::kActive) {
    return Refuse(key, state,
                  "a certificate can be imported only for PENDING_CERTIFICATE or ACTIVE keys",
                  state == KeyState::kDisabled ? " (enable it first)" : "");
  }
  return KeyState::kActive;
}

absl::StatusOr<KeyState> SetUsageLimit(KeyState state, const KeyFacts& key) {
  if (state == KeyState::kDestroyed) {
    return absl::FailedPreconditionError(absl::StrCat("key ", key.name, " is DESTROYED"));
  }
  return state;
}

}  // namespace

const char* KeyStateName(KeyState state) {
  switch (state) {
    case KeyState::kCreating:
      return "CREATING";
    case KeyState::kPendingCertificate:
      return "PENDING_CERTIFICATE";
    case KeyState::kActive:
      return "ACTIVE";
    case KeyState::kDisabled:
      return "DISABLED";
    case KeyState::kExpired:
      return "EXPIRED";
    case KeyState::kScheduledForDestruction:
      return "SCHEDULED_FOR_DESTRUCTION";
    case KeyState::kDestroyed:
      return "DESTROYED";
    case KeyState::kDestroying:
      return "SCHEDULED_FOR_DESTRUCTION";  // the API's name for it (EffectiveState)
  }
  return "UNKNOWN";
}

KeyState StoredState(KeyState state) {
  return state == KeyState::kExpired ? KeyState::kActive : state;
}

KeyState EffectiveState(KeyState stored, const KeyFacts& facts) {
  if (stored == KeyState::kActive && facts.has_certificate && facts.certificate_expired) {
    return KeyState::kExpired;
  }
  if (stored == KeyState::kDestroying) return KeyState::kScheduledForDestruction;
  return stored;
}

absl::StatusOr<KeyState> Next(KeyState current, Operation op, const KeyFacts& facts) {
  KeyState state = StoredState(current);
  if (state == KeyState::kDestroying) return BeingDestroyed(facts);
  switch (op) {
    case Operation::kEnable:
      return Enable(state, facts);
    case Operation::kDisable:
      return Disable(state, facts);
    case Operation::kScheduleDestruction:
      return ScheduleDestruction(state, facts);
    case Operation::kRestore:
      return Restore(state, facts);
    case Operation::kImportCertificate:
      return ImportCertificate(state, facts);
    case Operation::kSetUsageLimit:
      return SetUsageLimit(state, facts);
  }
  return absl::InvalidArgumentError("unknown key operation");
}

}  // namespace ksef::lifecycle
