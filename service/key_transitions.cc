// KeyManager, state transitions: the one file that holds the rules for
// moving an existing key between states (disable, enable, schedule for
// destruction, restore, attach a certificate, change its usage limit), each
// through Transition (load, check, stamp, store under the key lock).
// Creation (key_creation.cc) and destruction (key_sweeps.cc) move keys
// into and out of the registry.
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "service/key_manager.h"

namespace ksef::service {

absl::StatusOr<KeyRecord> KeyManager::Transition(
    absl::string_view name, const std::function<absl::Status(KeyRecord&)>& change) {
  KSEF_ASSIGN_OR_RETURN(std::string key_id, ResolveKeyId(name));
  absl::MutexLock lock(&mu_);
  KSEF_ASSIGN_OR_RETURN(KeyRecord record, Get(absl::StrCat("keys/", key_id)));
  KeyRecord stored = record;
  stored.state = record.state == KeyState::kExpired ? KeyState::kActive : record.state;
  KSEF_RETURN_IF_ERROR(change(stored));
  stored.update_time = clock_();
  KSEF_RETURN_IF_ERROR(registry_->Update(stored));
  stored.state = EffectiveState(stored);
  return stored;
}

absl::StatusOr<KeyRecord> KeyManager::Disable(absl::string_view name) {
  return Transition(name, [](KeyRecord& r) {
    if (r.state != KeyState::kActive && r.state != KeyState::kPendingCertificate) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key ", r.name(), " is ", KeyStateName(r.state), "; only ACTIVE or "
          "PENDING_CERTIFICATE keys can be disabled"));
    }
    r.state = KeyState::kDisabled;
    return absl::OkStatus();
  });
}

absl::StatusOr<KeyRecord> KeyManager::SetUsageLimit(absl::string_view name, int64_t limit) {
  if (limit < 0) return absl::InvalidArgumentError("usage_limit must be 0 (no limit) or positive");
  return Transition(name, [limit](KeyRecord& r) {
    if (r.state == KeyState::kDestroyed) {
      return absl::FailedPreconditionError(absl::StrCat("key ", r.name(), " is DESTROYED"));
    }
    r.usage_limit = limit;
    return absl::OkStatus();
  });
}

absl::StatusOr<KeyRecord> KeyManager::Enable(absl::string_view name) {
  return Transition(name, [](KeyRecord& r) {
    if (r.state != KeyState::kDisabled) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key ", r.name(), " is ", KeyStateName(r.state), "; only DISABLED keys can be enabled",
          r.state == KeyState::kScheduledForDestruction ? " (restore it first)" : ""));
    }
    r.state = r.certificate_der.empty() ? KeyState::kPendingCertificate : KeyState::kActive;
    return absl::OkStatus();
  });
}

absl::StatusOr<KeyRecord> KeyManager::ScheduleDestruction(absl::string_view name) {
  absl::Time when = clock_() + grace_period_;
  return Transition(name, [when](KeyRecord& r) {
    if (r.state == KeyState::kScheduledForDestruction) {
      return absl::FailedPreconditionError(
          absl::StrCat("key ", r.name(), " is already scheduled for destruction at ",
                       absl::FormatTime(absl::RFC3339_sec, *r.destroy_time, absl::UTCTimeZone())));
    }
    r.state = KeyState::kScheduledForDestruction;
    r.destroy_time = when;
    return absl::OkStatus();
  });
}

absl::StatusOr<KeyRecord> KeyManager::Restore(absl::string_view name) {
  absl::Time now = clock_();
  return Transition(name, [now](KeyRecord& r) {
    if (r.state != KeyState::kScheduledForDestruction) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key ", r.name(), " is ", KeyStateName(r.state),
          "; only keys scheduled for destruction can be restored"));
    }
    if (r.destroy_time && *r.destroy_time <= now) {
      return absl::FailedPreconditionError(
          absl::StrCat("the grace period of key ", r.name(), " is over; it is being destroyed"));
    }
    // Restored keys come back disabled, so using them again is a decision.
    r.state = KeyState::kDisabled;
    r.destroy_time.reset();
    return absl::OkStatus();
  });
}

absl::StatusOr<KeyRecord> KeyManager::AttachCertificate(
    absl::string_view name, const std::string& certificate_der,
    const std::function<absl::Status(const KeyRecord&)>& check) {
  return Transition(name, [&](KeyRecord& r) -> absl::Status {
    if (r.state != KeyState::kPendingCertificate && r.state != KeyState::kActive) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key ", r.name(), " is ", KeyStateName(r.state),
          "; a certificate can be imported only for PENDING_CERTIFICATE or ACTIVE keys",
          r.state == KeyState::kDisabled ? " (enable it first)" : ""));
    }
    KSEF_RETURN_IF_ERROR(check(r));
    KSEF_RETURN_IF_ERROR(store_->StoreCertificate(r.cka_id, certificate_der, r.key_id));
    r.certificate_der = certificate_der;
    r.state = KeyState::kActive;
    LogInfo("certificate stored for key ", r.name(), "; key is ACTIVE");
    return absl::OkStatus();
  });
}

}  // namespace ksef::service
