#include "client/testing/fake_key_service.h"

#include <chrono>
#include <functional>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ksef::client::testing {
namespace {

using lifecycle::Operation;

grpc::Status NotFound(const std::string& name) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "key " + name + " not found");
}

lifecycle::KeyState FromProto(v1::KeyState state) {
  switch (state) {
    case v1::PENDING_CERTIFICATE:
      return lifecycle::KeyState::kPendingCertificate;
    case v1::ACTIVE:
      return lifecycle::KeyState::kActive;
    case v1::DISABLED:
      return lifecycle::KeyState::kDisabled;
    case v1::EXPIRED:
      return lifecycle::KeyState::kExpired;
    case v1::SCHEDULED_FOR_DESTRUCTION:
      return lifecycle::KeyState::kScheduledForDestruction;
    case v1::DESTROYED:
      return lifecycle::KeyState::kDestroyed;
    default:
      return lifecycle::KeyState::kCreating;  // the API has no word for it
  }
}

v1::KeyState ToProto(lifecycle::KeyState state) {
  switch (state) {
    case lifecycle::KeyState::kCreating:
      return v1::KEY_STATE_UNSPECIFIED;
    case lifecycle::KeyState::kPendingCertificate:
      return v1::PENDING_CERTIFICATE;
    case lifecycle::KeyState::kActive:
      return v1::ACTIVE;
    case lifecycle::KeyState::kDisabled:
      return v1::DISABLED;
    case lifecycle::KeyState::kExpired:
      return v1::EXPIRED;
    case lifecycle::KeyState::kScheduledForDestruction:
    case lifecycle::KeyState::kDestroying:  // the fake never stores it
      return v1::SCHEDULED_FOR_DESTRUCTION;
    case lifecycle::KeyState::kDestroyed:
      return v1::DESTROYED;
  }
  return v1::KEY_STATE_UNSPECIFIED;
}

// What the lifecycle rules look at, from the fake's copy of a key.
lifecycle::KeyFacts FactsOf(const v1::Key& key, bool certificate_expired) {
  lifecycle::KeyFacts facts;
  facts.name = key.name();
  facts.has_certificate = key.has_certificate();
  facts.certificate_expired = key.has_certificate() && certificate_expired;
  if (key.has_destroy_time()) facts.destroy_time = absl::FromUnixSeconds(key.destroy_time().seconds());
  facts.now = absl::FromUnixSeconds(FakeKeyService::kNowSeconds);
  return facts;
}

}  // namespace

v1::Key FakeKeyService::MakeKey(const std::string& id) {
  v1::Key key;
  key.set_name("keys/" + id);
  key.set_pkcs11_uri("pkcs11:token=ksef;object=ksef-" + id + ";type=private");
  key.mutable_subject()->set_type(v1::KsefSubject::NIP);
  key.mutable_subject()->set_value("5260250274");
  key.set_purpose(v1::AUTHENTICATION);
  key.set_algorithm(v1::EC_P256);
  key.set_state(v1::ACTIVE);
  key.mutable_create_time()->set_seconds(kCreateSeconds);
  key.mutable_update_time()->set_seconds(kCreateSeconds + 60);
  v1::KeyAttestation* attestation = key.mutable_attestation();
  attestation->set_local(true);
  attestation->set_sensitive(true);
  attestation->set_always_sensitive(true);
  attestation->set_never_extractable(true);
  v1::Certificate* cert = key.mutable_certificate();
  cert->set_serial_number("0123456789ABCDEF");
  cert->set_sha256_fingerprint(std::string(64, 'A'));
  cert->set_subject("CN=" + id + ",O=Acme");
  cert->set_issuer("CN=KSeF Test CA");
  cert->mutable_not_before()->set_seconds(kCreateSeconds);
  cert->mutable_not_after()->set_seconds(kCreateSeconds + 2 * 365 * 86400);
  return key;
}

void FakeKeyService::AddKey(const v1::Key& key) {
  bool expired = key.state() == v1::EXPIRED ||
                 (key.has_certificate() && key.certificate().not_after().seconds() < kNowSeconds);
  absl::MutexLock lock(&mu_);
  keys_[key.name()] = Entry{key, expired};
}

void FakeKeyService::SetConsistencyReport(const v1::ConsistencyReport& report) {
  absl::MutexLock lock(&mu_);
  report_ = report;
}

std::vector<v1::ListKeysRequest> FakeKeyService::list_requests() {
  absl::MutexLock lock(&mu_);
  return list_requests_;
}

v1::CreateKeyRequest FakeKeyService::last_create_request() {
  absl::MutexLock lock(&mu_);
  return last_create_;
}

std::string FakeKeyService::last_name() {
  absl::MutexLock lock(&mu_);
  return last_name_;
}

FakeKeyService::Entry* FakeKeyService::Find(const std::string& name, grpc::Status* status) {
  last_name_ = name;
  for (auto& [key_name, entry] : keys_) {
    if ((key_name == name || entry.shown.pkcs11_uri() == name) &&
        entry.shown.state() != v1::DESTROYED) {
      return &entry;
    }
  }
  *status = NotFound(name);
  return nullptr;
}

grpc::Status FakeKeyService::Transition(const std::string& name, Operation op, v1::Key* key,
                                        const std::function<void(v1::Key&)>& change) {
  absl::MutexLock lock(&mu_);
  grpc::Status status;
  Entry* found = Find(name, &status);
  if (found == nullptr) return status;
  v1::Key& shown = found->shown;
  lifecycle::KeyFacts facts = FactsOf(shown, found->certificate_expired);
  absl::StatusOr<lifecycle::KeyState> next = lifecycle::Next(FromProto(shown.state()), op, facts);
  if (!next.ok()) {
    // The decision and the server's words are the table's; the prefix is
    // the fake's older wording, which the client tests still look for.
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "key " + shown.name() + " is not in a state that allows this: " +
                            std::string(next.status().message()));
  }
  if (op == Operation::kScheduleDestruction) {
    shown.mutable_destroy_time()->set_seconds(kNowSeconds + kGraceSeconds);
  } else if (op == Operation::kRestore) {
    shown.clear_destroy_time();
  }
  shown.set_state(ToProto(lifecycle::EffectiveState(*next, facts)));
  if (change) change(shown);
  *key = shown;
  return grpc::Status::OK;
}

grpc::Status FakeKeyService::CreateKey(grpc::ServerContext*, const v1::CreateKeyRequest* request,
                                       v1::Key* key) {
  absl::MutexLock lock(&mu_);
  last_create_ = *request;
  std::string id = request->key_id().empty() ? "generated-1" : request->key_id();
  if (keys_.count("keys/" + id) > 0) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "key keys/" + id + " already exists");
  }
  v1::Key created = MakeKey(id);  // then as the server's Create: PENDING_CERTIFICATE
  *created.mutable_subject() = request->subject();
  created.set_purpose(request->purpose());
  created.set_algorithm(
      request->algorithm() == v1::KEY_ALGORITHM_UNSPECIFIED ? v1::EC_P256 : request->algorithm());
  created.set_state(v1::PENDING_CERTIFICATE);
  created.clear_certificate();
  keys_[created.name()] = Entry{created, false};
  *key = created;
  return grpc::Status::OK;
}

grpc::Status FakeKeyService::GetKey(grpc::ServerContext*, const v1::GetKeyRequest* request,
                                    v1::Key* key) {
  if (request->name() == "keys/slow") {
    std::this_thread::sleep_for(std::chrono::milliseconds(kSlowMillis));
  }
  absl::MutexLock lock(&mu_);
  grpc::Status status;
  Entry* found = Find(request->name(), &status);
  if (found == nullptr) return status;
  *key = found->shown;
  return grpc::Status::OK;
}

grpc::Status FakeKeyService::ListKeys(grpc::ServerContext*, const v1::ListKeysRequest* request,
                                      v1::ListKeysResponse* response) {
  absl::MutexLock lock(&mu_);
  list_requests_.push_back(*request);
  std::vector<const v1::Key*> matching;
  for (const auto& [name, entry] : keys_) {  // std::map: ordered by name
    const v1::Key& key = entry.shown;
    const v1::KsefSubject& filter = request->subject();
    if (filter.type() != v1::KsefSubject::IDENTIFIER_TYPE_UNSPECIFIED &&
        filter.type() != key.subject().type()) {
      continue;
    }
    if (!filter.value().empty() && filter.value() != key.subject().value()) continue;
    if (request->purpose() != v1::KEY_PURPOSE_UNSPECIFIED && request->purpose() != key.purpose()) {
      continue;
    }
    if (request->state() != v1::KEY_STATE_UNSPECIFIED && request->state() != key.state()) continue;
    matching.push_back(&key);
  }
  size_t start = 0;
  if (!request->page_token().empty()) start = std::stoul(request->page_token());
  size_t size = request->page_size() > 0 ? static_cast<size_t>(request->page_size()) : 50;
  for (size_t i = start; i < matching.size() && i < start + size; ++i) {
    *response->add_keys() = *matching[i];
  }
  if (start + size < matching.size()) response->set_next_page_token(std::to_string(start + size));
  response->set_total_size(static_cast<int32_t>(matching.size()));
  return grpc::Status::OK;
}

grpc::Status FakeKeyService::GetPublicKey(grpc::ServerContext*,
                                          const v1::GetPublicKeyRequest* request,
                                          v1::PublicKey* key) {
  absl::MutexLock lock(&mu_);
  grpc::Status status;
  Entry* found = Find(request->name(), &status);
  if (found == nullptr) return status;
  key->set_name(found->shown.name());
  key->set_algorithm(found->shown.algorithm());
  key->set_der(std::string("\x30\x59\x30\x13\x00\xff", 6));
  key->set_pem("-----BEGIN PUBLIC KEY-----\nMFkwEwD/\n-----END PUBLIC KEY-----\n");
  key->set_sha256_fingerprint(std::string(64, 'B'));
  return grpc::Status::OK;
}

grpc::Status FakeKeyService::DisableKey(grpc::ServerContext*, const v1::DisableKeyRequest* request,
                                        v1::Key* key) {
  return Transition(request->name(), Operation::kDisable, key);
}

grpc::Status FakeKeyService::SetKeyUsageLimit(grpc::ServerContext*,
                                              const v1::SetKeyUsageLimitRequest* request,
                                              v1::Key* key) {
  if (request->usage_limit() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "usage_limit must be 0 (no limit) or positive");
  }
  int64_t limit = request->usage_limit();
  return Transition(request->name(), Operation::kSetUsageLimit, key,
                    [limit](v1::Key& changed) { changed.set_usage_limit(limit); });
}

grpc::Status FakeKeyService::EnableKey(grpc::ServerContext*, const v1::EnableKeyRequest* request,
                                       v1::Key* key) {
  return Transition(request->name(), Operation::kEnable, key);
}

grpc::Status FakeKeyService::ScheduleKeyDestruction(
    grpc::ServerContext*, const v1::ScheduleKeyDestructionRequest* request, v1::Key* key) {
  return Transition(request->name(), Operation::kScheduleDestruction, key);
}

grpc::Status FakeKeyService::RestoreKey(grpc::ServerContext*, const v1::RestoreKeyRequest* request,
                                        v1::Key* key) {
  return Transition(request->name(), Operation::kRestore, key);
}

grpc::Status FakeKeyService::CheckConsistency(grpc::ServerContext*,
                                              const v1::CheckConsistencyRequest*,
                                              v1::ConsistencyReport* report) {
  absl::MutexLock lock(&mu_);
  *report = report_;
  return grpc::Status::OK;
}

}  // namespace ksef::client::testing
