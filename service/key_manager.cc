#include "service/key_manager.h"

#include <openssl/x509.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/openssl_ptr.h"
#include "common/status_macros.h"
#include "pkcs11/pkcs11_uri.h"
#include "formats/identifiers.h"

namespace ksef::service {
namespace {

bool ValidKeyId(absl::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
    if (!ok) return false;
  }
  return true;
}

// The key_id a caller asked for: well-formed and not in the service's
// reserved namespace. Names of existing keys are not checked against the
// prefix, so keys created before it was reserved stay usable.
absl::Status CheckNewKeyId(const std::string& key_id) {
  if (key_id.empty()) return absl::OkStatus();  // the service picks one
  if (!ValidKeyId(key_id)) {
    // Quote only a short prefix: the id is the caller's, of any length.
    return absl::InvalidArgumentError(absl::StrCat(
        "key_id '", absl::string_view(key_id).substr(0, 72), key_id.size() > 72 ? "..." : "",
        "' is invalid: use 1-63 lowercase letters, digits and '-', starting with a letter or "
        "digit"));
  }
  if (absl::StartsWith(key_id, kInternalKeyPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat("key_id '", key_id, "' is invalid: the prefix '",
                                                   kInternalKeyPrefix,
                                                   "' is reserved for the service's own keys"));
  }
  return absl::OkStatus();
}

std::string GenerateKeyId(KeyPurpose purpose) {
  std::string rnd = pkcs11::KeyStore::NewId().substr(0, 6);
  std::string hex = HexUpper(rnd);
  for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return absl::StrCat(purpose == KeyPurpose::kAuthentication ? "auth-" : "offline-", hex);
}

struct Validity {
  absl::Time not_before;
  absl::Time not_after;
};

std::optional<Validity> ParseValidity(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, der.size()));
  if (!cert) return std::nullopt;
  struct tm before = {}, after = {};
  if (ASN1_TIME_to_tm(X509_get0_notBefore(cert.get()), &before) != 1 ||
      ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &after) != 1) {
    return std::nullopt;
  }
  return Validity{absl::FromTM(before, absl::UTCTimeZone()),
                  absl::FromTM(after, absl::UTCTimeZone())};
}

// Signing checks validity on every call: a certificate is parsed once per
// process (certificates never change; the cache is bounded).
std::optional<Validity> CertificateValidity(const std::string& der) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache = new absl::flat_hash_map<std::string, std::optional<Validity>>();
  {
    absl::MutexLock lock(&mu);
    auto it = cache->find(der);
    if (it != cache->end()) return it->second;
  }
  std::optional<Validity> v = ParseValidity(der);
  absl::MutexLock lock(&mu);
  if (cache->size() >= 4096) cache->clear();
  cache->emplace(der, v);
  return v;
}

std::optional<absl::Time> CertificateNotAfter(const std::string& der) {
  auto v = CertificateValidity(der);
  if (!v) return std::nullopt;
  return v->not_after;
}

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

const char* PurposeName(KeyPurpose purpose) {
  return purpose == KeyPurpose::kAuthentication ? "AUTHENTICATION" : "OFFLINE";
}

}  // namespace

absl::Status NormalizeSubject(SubjectType type, std::string& value) {
  if (value.empty()) {
    return absl::InvalidArgumentError(
        "subject.value is empty: give the NIP, PESEL or certificate fingerprint the key's "
        "certificate will carry");
  }
  switch (type) {
    case SubjectType::kNip:
      return ValidateNip(value, "subject.value");
    case SubjectType::kPesel:
      return ValidatePesel(value, "subject.value");
    case SubjectType::kCertificateFingerprint: {
      KSEF_ASSIGN_OR_RETURN(value, NormalizeFingerprint(value, "subject.value"));
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("subject.type is not set: use NIP, PESEL or "
                                    "CERTIFICATE_FINGERPRINT");
}

absl::StatusOr<std::string> KeyIdFromName(absl::string_view name) {
  if (!absl::StartsWith(name, "keys/") || !ValidKeyId(name.substr(5))) {
    // Quote only a short prefix: the name is the caller's, of any length.
    return absl::InvalidArgumentError(absl::StrCat(
        "name '", name.substr(0, 72), name.size() > 72 ? "...'" : "'",
        " is not a key name: use keys/{key_id} (1-63 lowercase letters, digits and '-') or "
        "the key's pkcs11: URI"));
  }
  return std::string(name.substr(5));
}

class KeyManager::RunningCreation {
 public:
  RunningCreation(KeyManager* keys, std::string cka_id) : keys_(keys), cka_id_(std::move(cka_id)) {
    absl::MutexLock lock(&keys_->creating_mu_);
    keys_->creating_.insert(cka_id_);
  }
  ~RunningCreation() {
    absl::MutexLock lock(&keys_->creating_mu_);
    keys_->creating_.erase(cka_id_);
  }
  RunningCreation(const RunningCreation&) = delete;
  RunningCreation& operator=(const RunningCreation&) = delete;

 private:
  KeyManager* const keys_;
  const std::string cka_id_;
};

KeyManager::KeyManager(pkcs11::KeyStore* store, KeyRegistry* registry, absl::Duration grace_period,
                       Clock clock)
    : store_(store), registry_(registry), grace_period_(grace_period), clock_(std::move(clock)) {}

KeyState KeyManager::EffectiveState(const KeyRecord& record) const {
  if (record.state == KeyState::kActive && !record.certificate_der.empty()) {
    auto not_after = CertificateNotAfter(record.certificate_der);
    if (not_after && *not_after < clock_()) return KeyState::kExpired;
  }
  return record.state;
}

absl::StatusOr<KeyRecord> KeyManager::Create(const CreateKeyParams& params) {
  KeyRecord record;
  record.subject_type = params.subject_type;
  record.subject_value = params.subject_value;
  KSEF_RETURN_IF_ERROR(NormalizeSubject(record.subject_type, record.subject_value));
  KSEF_RETURN_IF_ERROR(CheckNewKeyId(params.key_id));
  record.key_id = params.key_id.empty() ? GenerateKeyId(params.purpose) : params.key_id;
  record.cka_id = pkcs11::KeyStore::NewId();
  record.purpose = params.purpose;
  if (params.usage_limit < 0) {
    return absl::InvalidArgumentError("usage_limit must be 0 (no limit) or positive");
  }
  record.usage_limit = params.usage_limit;
  record.algorithm = params.algorithm;
  record.state = KeyState::kCreating;
  record.create_time = record.update_time = clock_();
  record.pkcs11_uri = store_->UriFor(record.cka_id, record.key_id);
  RunningCreation running(this, record.cka_id);
  // Record intent first: a crash after generation leaves a row that
  // Reconcile() can complete, never an unknown key on the token.
  KSEF_RETURN_IF_ERROR(registry_->Insert(record));
  auto key = store_->Generate(record.algorithm, record.key_id, record.cka_id);
  if (!key.ok()) {
    absl::Status cleanup = registry_->Delete(record.key_id);
    if (!cleanup.ok()) LogWarning("cannot drop registry row of failed key: ", cleanup.message());
    return key.status();
  }
  record.attestation = key->attestation;
  record.public_key_der = key->public_key_der;
  record.pkcs11_uri = key->uri;
  record.state = KeyState::kPendingCertificate;
  record.update_time = clock_();
  absl::Status stored = registry_->Update(record);
  if (!stored.ok()) {
    // No orphan: without its registry row the key must not stay on the token.
    absl::Status destroyed = store_->Destroy(record.cka_id);
    if (!destroyed.ok()) {
      LogError("key ", record.name(), " could not be recorded nor destroyed: ",
               destroyed.message(), "; check-consistency will report it");
    }
    return stored;
  }
  LogInfo("created key ", record.name(), " (", crypto::KeyAlgorithmName(record.algorithm), ")");
  return record;
}

absl::StatusOr<std::string> KeyManager::ResolveKeyId(absl::string_view name) {
  if (absl::StartsWith(name, "pkcs11:")) {
    auto uri = pkcs11::Pkcs11Uri::Parse(name);
    if (!uri.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("name: ", uri.status().message()));
    }
    if (uri->token && *uri->token != store_->token_label()) {
      return absl::NotFoundError(absl::StrCat("the URI names token '", *uri->token,
                                              "', but this server uses token '",
                                              store_->token_label(), "'"));
    }
    if (uri->type && *uri->type != "private") {
      return absl::InvalidArgumentError("name: a key URI has type=private (or no type)");
    }
    if (uri->id) {
      if (IsReserved(*uri->id)) return absl::NotFoundError(absl::StrCat("no key with URI ", name));
      auto record = registry_->GetByCkaId(*uri->id);
      if (!record.ok()) return absl::NotFoundError(absl::StrCat("no key with URI ", name));
      return record->key_id;
    }
    if (uri->object) return *uri->object;
    return absl::InvalidArgumentError("name: the pkcs11: URI needs an id or object attribute");
  }
  return KeyIdFromName(name);
}

absl::StatusOr<KeyRecord> KeyManager::Get(absl::string_view name) {
  KSEF_ASSIGN_OR_RETURN(std::string key_id, ResolveKeyId(name));
  auto record = registry_->Get(key_id);
  if (!record.ok() || record->state == KeyState::kDestroyed ||
      record->state == KeyState::kCreating) {
    if (record.ok() || absl::IsNotFound(record.status())) {
      return absl::NotFoundError(absl::StrCat("key keys/", key_id, " not found"));
    }
    return record.status();
  }
  record->state = EffectiveState(*record);
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
        auto not_after = CertificateNotAfter(r.certificate_der);
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

absl::StatusOr<KeyRecord> KeyManager::ImportKey(const ImportKeyParams& params,
                                                const EVP_PKEY* key,
                                                const std::string& certificate_der) {
  KeyRecord record;
  record.subject_type = params.subject_type;
  record.subject_value = params.subject_value;
  KSEF_RETURN_IF_ERROR(NormalizeSubject(record.subject_type, record.subject_value));
  KSEF_RETURN_IF_ERROR(CheckNewKeyId(params.key_id));
  record.key_id = params.key_id.empty() ? GenerateKeyId(params.purpose) : params.key_id;
  record.cka_id = pkcs11::KeyStore::NewId();
  record.purpose = params.purpose;
  record.algorithm =
      EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? crypto::KeyAlgorithm::kRsa2048
                                                : crypto::KeyAlgorithm::kEcP256;
  record.state = KeyState::kCreating;
  record.create_time = record.update_time = clock_();
  record.pkcs11_uri = store_->UriFor(record.cka_id, record.key_id);
  RunningCreation running(this, record.cka_id);
  KSEF_RETURN_IF_ERROR(registry_->Insert(record));
  auto undo = [&](const absl::Status& why) {
    absl::Status destroyed = store_->Destroy(record.cka_id);
    if (!destroyed.ok() && !absl::IsNotFound(destroyed)) {
      LogError("imported key ", record.name(), " could not be removed after a failure: ",
               destroyed.message(), "; check-consistency will report it");
    }
    absl::Status dropped = registry_->Delete(record.key_id);
    if (!dropped.ok()) LogWarning("cannot drop registry row of failed import: ", dropped.message());
    return why;
  };
  auto imported = store_->ImportPrivateKey(key, record.key_id, record.cka_id);
  if (!imported.ok()) return undo(imported.status());
  absl::Status stored = store_->StoreCertificate(record.cka_id, certificate_der, record.key_id);
  if (!stored.ok()) return undo(stored);
  record.algorithm = imported->algorithm;
  record.attestation = imported->attestation;
  record.public_key_der = imported->public_key_der;
  record.pkcs11_uri = imported->uri;
  record.certificate_der = certificate_der;
  record.state = KeyState::kActive;
  record.update_time = clock_();
  absl::Status updated = registry_->Update(record);
  if (!updated.ok()) return undo(updated);
  LogInfo("imported key ", record.name(), " (", crypto::KeyAlgorithmName(record.algorithm),
          ", bring-your-own, CKA_LOCAL=false) with its certificate; key is ACTIVE");
  record.state = EffectiveState(record);
  return record;
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
    auto validity = CertificateValidity(k.certificate_der);
    if (!validity || validity->not_before > now || validity->not_after <= now) continue;
    if (best == nullptr || validity->not_before > best_start) {
      best = &k;
      best_start = validity->not_before;
    }
  }
  if (best == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "subject ", value, " has no ACTIVE ", PurposeName(purpose),
        " key with a valid certificate; enroll one first"));
  }
  return *best;
}

absl::StatusOr<SigningKey> KeyManager::GetSigningKey(absl::string_view name,
                                                     KeyPurpose purpose) {
  KSEF_ASSIGN_OR_RETURN(KeyRecord record, Get(name));
  return SigningKeyFrom(std::move(record), purpose);
}

absl::StatusOr<SigningKey> KeyManager::SigningKeyFrom(KeyRecord record, KeyPurpose purpose) {
  if (record.purpose != purpose) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key ", record.name(), " is an ", PurposeName(record.purpose), " key; this operation needs an ",
        PurposeName(purpose), " key (KSeF certificates are single-purpose)"));
  }
  if (record.state != KeyState::kActive) {
    std::string why = absl::StrCat("key ", record.name(), " is ", KeyStateName(record.state));
    switch (record.state) {
      case KeyState::kPendingCertificate:
        absl::StrAppend(&why, ": it has no certificate yet; import one first");
        break;
      case KeyState::kExpired:
        absl::StrAppend(&why, ": its certificate expired at ",
                        FormatUtc(CertificateNotAfter(record.certificate_der).value_or(
                            absl::InfinitePast())),
                        "; enroll a new key");
        break;
      case KeyState::kDisabled:
        absl::StrAppend(&why, ": enable it first");
        break;
      default:
        break;
    }
    return absl::FailedPreconditionError(why);
  }
  auto validity = CertificateValidity(record.certificate_der);
  if (!validity) {
    return absl::InternalError(
        absl::StrCat("the stored certificate of key ", record.name(), " does not parse"));
  }
  if (validity->not_before > clock_()) {
    return absl::FailedPreconditionError(absl::StrCat("the certificate of key ", record.name(),
                                                      " is not valid before ",
                                                      FormatUtc(validity->not_before)));
  }
  KSEF_ASSIGN_OR_RETURN(auto signer, store_->GetSigner(record.cka_id));
  return SigningKey{std::move(record), std::move(signer)};
}

absl::StatusOr<SigningKey> KeyManager::GetEnrollmentKey(absl::string_view name) {
  KSEF_ASSIGN_OR_RETURN(KeyRecord record, Get(name));
  if (record.state != KeyState::kPendingCertificate && record.state != KeyState::kActive &&
      record.state != KeyState::kExpired) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", record.name(), " is ", KeyStateName(record.state),
                     "; only PENDING_CERTIFICATE, ACTIVE or EXPIRED keys can be enrolled",
                     record.state == KeyState::kDisabled ? " (enable it first)" : ""));
  }
  KSEF_ASSIGN_OR_RETURN(auto signer, store_->GetSigner(record.cka_id));
  return SigningKey{std::move(record), std::move(signer)};
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
      auto not_after = CertificateNotAfter(r.certificate_der);
      if (!not_after || *not_after >= limit) continue;
      r.state = EffectiveState(r);
      out.push_back(std::move(r));
    }
    if (rows.size() < 500) break;
  }
  std::sort(out.begin(), out.end(), [](const KeyRecord& a, const KeyRecord& b) {
    return CertificateNotAfter(a.certificate_der) < CertificateNotAfter(b.certificate_der);
  });
  return out;
}

absl::Status KeyManager::FinishDestruction(KeyRecord record) {
  absl::Status s = store_->Destroy(record.cka_id);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  record.state = KeyState::kDestroyed;
  record.update_time = clock_();
  KSEF_RETURN_IF_ERROR(registry_->Update(record));
  LogInfo("destroyed key ", record.name(), " (grace period over)");
  return absl::OkStatus();
}

absl::StatusOr<int> KeyManager::DestroyDue() {
  KeyFilter filter;
  filter.state = KeyState::kScheduledForDestruction;
  absl::Time now = clock_();
  int destroyed = 0;
  std::string cursor;
  while (true) {
    KSEF_ASSIGN_OR_RETURN(auto rows, registry_->List(filter, cursor, 200, nullptr));
    for (auto& r : rows) {
      cursor = r.key_id;
      if (!r.destroy_time || *r.destroy_time > now) continue;
      absl::MutexLock lock(&mu_);
      // Re-read under the lock: a restore may have won the race.
      auto fresh = registry_->Get(r.key_id);
      if (!fresh.ok() || fresh->state != KeyState::kScheduledForDestruction ||
          *fresh->destroy_time > now) {
        continue;
      }
      KSEF_RETURN_IF_ERROR(FinishDestruction(std::move(*fresh)));
      ++destroyed;
    }
    if (rows.size() < 200) break;
  }
  return destroyed;
}

bool KeyManager::IsReserved(const std::string& cka_id) const {
  return std::find(reserved_.begin(), reserved_.end(), cka_id) != reserved_.end();
}

bool KeyManager::CreationRunning(const std::string& cka_id) {
  absl::MutexLock lock(&creating_mu_);
  return creating_.contains(cka_id);
}

absl::StatusOr<ConsistencyReport> KeyManager::Reconcile() {
  absl::MutexLock lock(&mu_);
  return ReconcileLocked(/*at_startup=*/false);
}

absl::StatusOr<ConsistencyReport> KeyManager::ReconcileAtStartup() {
  absl::MutexLock lock(&mu_);
  return ReconcileLocked(/*at_startup=*/true);
}

absl::Status KeyManager::ReconcileCreating(KeyRecord& r, const pkcs11::TokenKey* on_token,
                                           bool at_startup,
                                           absl::flat_hash_set<std::string>& interrupted) {
  if (CreationRunning(r.cka_id)) return absl::OkStatus();  // a live Create owns it
  if (on_token == nullptr || on_token->public_key_der.empty()) {  // nothing, or half a key
    if (!at_startup && clock_() - r.update_time < kCreatingLease) return absl::OkStatus();
    LogWarning("dropping key ", r.name(), ": its creation did not finish");
    interrupted.insert(r.cka_id);
    return registry_->Delete(r.key_id);
  }
  r.attestation = on_token->attestation;
  r.public_key_der = on_token->public_key_der;
  r.pkcs11_uri = on_token->uri;
  r.state = KeyState::kPendingCertificate;
  // An import interrupted after its certificate was stored.
  auto cert = store_->GetCertificate(r.cka_id);
  if (cert.ok()) {
    r.certificate_der = *cert;
    r.state = KeyState::kActive;
  }
  r.update_time = clock_();
  KSEF_RETURN_IF_ERROR(registry_->Update(r));
  LogInfo("completed creation of key ", r.name(), " interrupted by a restart");
  return absl::OkStatus();
}

absl::StatusOr<int> KeyManager::RemoveDebris(const absl::flat_hash_set<std::string>& interrupted) {
  if (interrupted.empty()) return 0;
  KSEF_ASSIGN_OR_RETURN(int removed, store_->DestroyIncomplete([&](const pkcs11::IncompleteObject& o) {
    return o.id.empty() || interrupted.contains(o.id);
  }));
  if (removed > 0) {
    LogWarning("removed ", removed, " incomplete token object(s) left by ", interrupted.size(),
               " interrupted key creation(s)");
  }
  return removed;
}

absl::StatusOr<ConsistencyReport> KeyManager::ReconcileLocked(bool at_startup) {
  KSEF_ASSIGN_OR_RETURN(auto token_keys, store_->List());
  absl::flat_hash_map<std::string, const pkcs11::TokenKey*> on_token;
  for (const auto& k : token_keys) {
    if (!k.id.empty() && !k.label.empty()) on_token[k.id] = &k;  // else: incomplete
  }

  ConsistencyReport report;
  KeyFilter all;
  std::string cursor;
  absl::flat_hash_map<std::string, bool> known;
  absl::flat_hash_set<std::string> interrupted;
  while (true) {
    KSEF_ASSIGN_OR_RETURN(auto rows, registry_->List(all, cursor, 500, nullptr));
    for (auto& r : rows) {
      cursor = r.key_id;
      known[r.cka_id] = true;
      auto it = on_token.find(r.cka_id);
      if (r.state == KeyState::kCreating) {
        KSEF_RETURN_IF_ERROR(ReconcileCreating(r, it == on_token.end() ? nullptr : it->second,
                                               at_startup, interrupted));
        continue;
      }
      ++report.checked_keys;
      if (it == on_token.end()) report.missing_keys.push_back(r.name());
    }
    if (rows.size() < 500) break;
  }
  if (at_startup) KSEF_RETURN_IF_ERROR(RemoveDebris(interrupted).status());
  KSEF_ASSIGN_OR_RETURN(std::vector<pkcs11::IncompleteObject> incomplete, store_->ListIncomplete());
  for (const pkcs11::IncompleteObject& o : incomplete) {
    report.incomplete_token_objects.push_back(o.Describe());
  }
  for (const auto& [id, key] : on_token) {
    if (IsReserved(id)) continue;
    if (!known.contains(id)) report.unknown_token_keys.push_back(key->uri);
    if (absl::StartsWith(key->label, kInternalKeyPrefix)) {
      report.foreign_internal_label_keys.push_back(key->uri);
    }
  }
  for (const auto& uri : report.unknown_token_keys) {
    LogWarning("consistency: private key on the token unknown to the registry: ", uri);
  }
  for (const auto& uri : report.foreign_internal_label_keys) {
    LogWarning("consistency: private key with a label reserved for the service's own keys ('",
               kInternalKeyPrefix, "...') that is not one of them (the service does not use it; "
               "remove it unless you know what it is): ", uri);
  }
  for (const auto& name : report.missing_keys) {
    LogWarning("consistency: key ", name, " is in the registry but missing on the token");
  }
  for (const auto& line : report.incomplete_token_objects) {
    LogWarning("consistency: incomplete key object on the token: ", line);
  }
  return report;
}

}  // namespace ksef::service
