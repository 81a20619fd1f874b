// KeyManager, lookup: one key by name (Get), pages of keys (List), the
// subject's current signing key (CurrentKeyFor) and expiring keys. The
// EXPIRED state is derived here (EffectiveState) from the certificate's
// notAfter, read through the injected CertificateCache.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "service/key_manager.h"
#include "service/key_naming.h"

namespace ksef::service {

std::optional<absl::Time> KeyManager::NotAfter(const std::string& certificate_der) const {
  auto certificate = certificates_->Get(certificate_der);
  if (!certificate.ok()) return std::nullopt;
  return (*certificate)->info.not_after;
}

KeyState KeyManager::EffectiveState(const KeyRecord& record) const {
  lifecycle::KeyFacts facts = FactsOf(record);
  if (record.state == KeyState::kActive && facts.has_certificate) {
    std::optional<absl::Time> not_after = NotAfter(record.certificate_der);
    facts.certificate_expired = not_after && *not_after < facts.now;
  }
  return lifecycle::EffectiveState(record.state, facts);
}

absl::StatusOr<KeyRecord> KeyManager::GetStored(const std::string& key_id) {
  auto record = registry_->Get(key_id);
  if (!record.ok() || record->state == KeyState::kDestroyed ||
      record->state == KeyState::kCreating) {
    if (record.ok() || absl::IsNotFound(record.status())) {
      return absl::NotFoundError(absl::StrCat("key keys/", key_id, " not found"));
    }
    return record.status();
  }
  return record;
}

absl::StatusOr<KeyRecord> KeyManager::Get(absl::string_view name) {
  KSEF_ASSIGN_OR_RETURN(std::string key_id, ResolveKeyId(name));
  KSEF_ASSIGN_OR_RETURN(KeyRecord record, GetStored(key_id));
  record.state = EffectiveState(record);
  return record;
}

absl::StatusOr<std::vector<KeyRecord>> KeyManager::List(const KeyFilter& filter,
                                                        const std::string& page_token,
                                                        int page_size,
                                                        std::string* next_page_token,
                                                        int* total) {
  if (page_size < 0 || page_size > 1000) {
    return absl::InvalidArgumentError("page_size must be between 0 and 1000");
  }
  if (page_size == 0) page_size = 50;
  std::string after;
  if (!page_token.empty()) {
    auto decoded = Base64UrlDecode(page_token);
    if (!decoded || !ValidKeyId(*decoded)) {
      return absl::InvalidArgumentError(
          "page_token is not valid: pass next_page_token from the previous response unchanged");
    }
    after = *decoded;
  }
  KeyFilter stored = filter;
  // EXPIRED is not stored: it is ACTIVE with a certificate past notAfter.
  bool want_expired = filter.state == KeyState::kExpired;
  bool want_active = filter.state == KeyState::kActive;
  const auto& expires_before = filter.certificate_expires_before;
  if (expires_before) {
    if (filter.state && !want_active) {
      return absl::InvalidArgumentError(
          "expiring_within lists ACTIVE keys only; leave the state filter unset or ACTIVE");
    }
    want_active = true;
    stored.state = KeyState::kActive;
  }
  if (want_expired) stored.state = KeyState::kActive;
  if (filter.state == KeyState::kDestroyed) stored.include_destroyed = true;
  std::vector<KeyRecord> out;
  std::string cursor = after;
  int counted = 0;
  // Page through the registry until the page is full (filters on EXPIRED are
  // resolved here, so a registry page may yield fewer rows).
  while (static_cast<int>(out.size()) < page_size) {
    int total_rows = 0;
    KSEF_ASSIGN_OR_RETURN(auto rows, registry_->List(stored, cursor, page_size, &total_rows));
    if (cursor == after) counted = total_rows;
    for (auto& r : rows) {
      cursor = r.key_id;
      if (r.state == KeyState::kCreating) continue;
      r.state = EffectiveState(r);
      if ((want_expired && r.state != KeyState::kExpired) ||
          (want_active && r.state != KeyState::kActive)) {
        continue;
      }
      if (expires_before) {
        auto not_after = NotAfter(r.certificate_der);
        if (!not_after || *not_after >= *expires_before) continue;
      }
      out.push_back(std::move(r));
      if (static_cast<int>(out.size()) == page_size) break;
    }
    if (static_cast<int>(rows.size()) < page_size) {
      cursor.clear();
      break;
    }
  }
  if (next_page_token != nullptr) {
    *next_page_token = cursor.empty() ? "" : Base64UrlEncode(cursor);
    if (static_cast<int>(out.size()) < page_size) next_page_token->clear();
  }
  if (total != nullptr) *total = counted;
  return out;
}

absl::StatusOr<KeyRecord> KeyManager::CurrentKeyFor(SubjectType type, const std::string& value,
                                                    KeyPurpose purpose) {
  KeyFilter filter;
  filter.subject_type = type;
  filter.subject_value = value;
  filter.purpose = purpose;
  filter.state = KeyState::kActive;
  std::string next;
  KSEF_ASSIGN_OR_RETURN(std::vector<KeyRecord> keys, List(filter, "", 1000, &next, nullptr));
  const KeyRecord* best = nullptr;
  absl::Time best_start = absl::InfinitePast();
  const absl::Time now = clock_();
  for (const KeyRecord& k : keys) {
    auto certificate = certificates_->Get(k.certificate_der);
    if (!certificate.ok()) continue;
    const cert::CertificateInfo& validity = (*certificate)->info;
    if (validity.not_before > now || validity.not_after <= now) continue;
    if (best == nullptr || validity.not_before > best_start) {
      best = &k;
      best_start = validity.not_before;
    }
  }
  if (best == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "subject ", value, " has no ACTIVE ", KeyPurposeName(purpose),
        " key with a valid certificate; enroll one first"));
  }
  return *best;
}

absl::StatusOr<std::vector<KeyRecord>> KeyManager::KeysExpiringWithin(absl::Duration window) {
  absl::Time limit = clock_() + window;
  KeyFilter filter;
  filter.state = KeyState::kActive;  // stored state; EXPIRED is ACTIVE in the registry
  std::vector<KeyRecord> out;
  std::string cursor;
  while (true) {
    KSEF_ASSIGN_OR_RETURN(auto rows, registry_->List(filter, cursor, 500, nullptr));
    for (auto& r : rows) {
      cursor = r.key_id;
      auto not_after = NotAfter(r.certificate_der);
      if (!not_after || *not_after >= limit) continue;
      r.state = EffectiveState(r);
      out.push_back(std::move(r));
    }
    if (rows.size() < 500) break;
  }
  std::sort(out.begin(), out.end(), [this](const KeyRecord& a, const KeyRecord& b) {
    return NotAfter(a.certificate_der) < NotAfter(b.certificate_der);
  });
  return out;
}

}  // namespace ksef::service
