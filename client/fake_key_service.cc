#include "client/fake_key_service.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

namespace ksef::client::testing {
namespace {

constexpr int64_t kCreateSeconds = 1735732800;  // 2025-01-01T12:00:00Z

grpc::Status NotFound(const std::string& name) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "key " + name + " not found");
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
  std::lock_guard<std::mutex> lock(mu_);
  keys_[key.name()] = key;
}

void FakeKeyService::SetConsistencyReport(const v1::ConsistencyReport& report) {
  std::lock_guard<std::mutex> lock(mu_);
  report_ = report;
}

std::vector<v1::ListKeysRequest> FakeKeyService::list_requests() {
  std::lock_guard<std::mutex> lock(mu_);
  return list_requests_;
}

v1::CreateKeyRequest FakeKeyService::last_create_request() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_create_;
}

std::string FakeKeyService::last_name() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_name_;
}

v1::Key* FakeKeyService::Find(const std::string& name, grpc::Status* status) {
  last_name_ = name;
  for (auto& [key_name, key] : keys_) {
    if ((key_name == name || key.pkcs11_uri() == name) && key.state() != v1::DESTROYED) {
      return &key;
    }
  }
  *status = NotFound(name);
  return nullptr;
}

grpc::Status FakeKeyService::Transition(const std::string& name, std::vector<v1::KeyState> from,
                                        v1::KeyState to, v1::Key* key) {
  std::lock_guard<std::mutex> lock(mu_);
  grpc::Status status;
  v1::Key* found = Find(name, &status);
  if (found == nullptr) return status;
  if (std::find(from.begin(), from.end(), found->state()) == from.end()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "key " + found->name() + " is not in a state that allows this");
  }
  found->set_state(to);
  if (to == v1::SCHEDULED_FOR_DESTRUCTION) {
    found->mutable_destroy_time()->set_seconds(kCreateSeconds + 86400);
  } else {
    found->clear_destroy_time();
  }
  *key = *found;
  return grpc::Status::OK;
}

grpc::Status FakeKeyService::CreateKey(grpc::ServerContext*, const v1::CreateKeyRequest* request,
                                       v1::Key* key) {
  std::lock_guard<std::mutex> lock(mu_);
  last_create_ = *request;
  std::string id = request->key_id().empty() ? "generated-1" : request->key_id();
  if (keys_.count("keys/" + id) > 0) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "key keys/" + id + " already exists");
  }
  v1::Key created = MakeKey(id);
  *created.mutable_subject() = request->subject();
  created.set_purpose(request->purpose());
  created.set_algorithm(
      request->algorithm() == v1::KEY_ALGORITHM_UNSPECIFIED ? v1::EC_P256 : request->algorithm());
  created.set_state(v1::PENDING_CERTIFICATE);
  created.clear_certificate();
  keys_[created.name()] = created;
  *key = created;
  return grpc::Status::OK;
}

grpc::Status FakeKeyService::GetKey(grpc::ServerContext*, const v1::GetKeyRequest* request,
                                    v1::Key* key) {
  if (request->name() == "keys/slow") {
    std::this_thread::sleep_for(std::chrono::milliseconds(kSlowMillis));
  }
  std::lock_guard<std::mutex> lock(mu_);
  grpc::Status status;
  v1::Key* found = Find(request->name(), &status);
  if (found == nullptr) return status;
  *key = *found;
  return grpc::Status::OK;
}

grpc::Status FakeKeyService::ListKeys(grpc::ServerContext*, const v1::ListKeysRequest* request,
                                      v1::ListKeysResponse* response) {
  std::lock_guard<std::mutex> lock(mu_);
  list_requests_.push_back(*request);
  std::vector<const v1::Key*> matching;
  for (const auto& [name, key] : keys_) {  // std::map: ordered by name
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
  std::lock_guard<std::mutex> lock(mu_);
  grpc::Status status;
  v1::Key* found = Find(request->name(), &status);
  if (found == nullptr) return status;
  key->set_name(found->name());
  key->set_algorithm(found->algorithm());
  key->set_der(std::string("\x30\x59\x30\x13\x00\xff", 6));
  key->set_pem("-----BEGIN PUBLIC KEY-----\nMFkwEwD/\n-----END PUBLIC KEY-----\n");
  key->set_sha256_fingerprint(std::string(64, 'B'));
  return grpc::Status::OK;
}

grpc::Status FakeKeyService::DisableKey(grpc::ServerContext*, const v1::DisableKeyRequest* request,
                                        v1::Key* key) {
  return Transition(request->name(), {v1::ACTIVE, v1::PENDING_CERTIFICATE}, v1::DISABLED, key);
}

grpc::Status FakeKeyService::SetKeyUsageLimit(grpc::ServerContext*,
                                              const v1::SetKeyUsageLimitRequest* request,
                                              v1::Key* key) {
  grpc::Status status;
  v1::Key* found = Find(request->name(), &status);
  if (found == nullptr) return status;
  found->set_usage_limit(request->usage_limit());
  *key = *found;
  return grpc::Status::OK;
}

grpc::Status FakeKeyService::EnableKey(grpc::ServerContext*, const v1::EnableKeyRequest* request,
                                       v1::Key* key) {
  return Transition(request->name(), {v1::DISABLED}, v1::ACTIVE, key);
}

grpc::Status FakeKeyService::ScheduleKeyDestruction(
    grpc::ServerContext*, const v1::ScheduleKeyDestructionRequest* request, v1::Key* key) {
  return Transition(request->name(),
                    {v1::ACTIVE, v1::PENDING_CERTIFICATE, v1::DISABLED, v1::EXPIRED},
                    v1::SCHEDULED_FOR_DESTRUCTION, key);
}

grpc::Status FakeKeyService::RestoreKey(grpc::ServerContext*, const v1::RestoreKeyRequest* request,
                                        v1::Key* key) {
  return Transition(request->name(), {v1::SCHEDULED_FOR_DESTRUCTION}, v1::DISABLED, key);
}

grpc::Status FakeKeyService::CheckConsistency(grpc::ServerContext*,
                                              const v1::CheckConsistencyRequest*,
                                              v1::ConsistencyReport* report) {
  std::lock_guard<std::mutex> lock(mu_);
  *report = report_;
  return grpc::Status::OK;
}

void FakeHealthService::SetStatus(grpc::health::v1::HealthCheckResponse::ServingStatus status) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = status;
}

grpc::Status FakeHealthService::Check(grpc::ServerContext*,
                                      const grpc::health::v1::HealthCheckRequest* request,
                                      grpc::health::v1::HealthCheckResponse* response) {
  if (!request->service().empty() && request->service() != "ksef.hsm.v1.KeyService") {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
  }
  std::lock_guard<std::mutex> lock(mu_);
  response->set_status(status_);
  return grpc::Status::OK;
}

FakeServer::FakeServer(std::shared_ptr<grpc::ServerCredentials> credentials) {
  if (credentials == nullptr) credentials = grpc::InsecureServerCredentials();
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", credentials, &port);
  builder.RegisterService(&keys_);
  builder.RegisterService(&enrollment_);
  builder.RegisterService(&audit_);
  builder.RegisterService(&auth_);
  builder.RegisterService(&offline_);
  builder.RegisterService(&health_);
  server_ = builder.BuildAndStart();
  address_ = "127.0.0.1:" + std::to_string(port);
}

FakeServer::~FakeServer() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
}

}  // namespace ksef::client::testing
