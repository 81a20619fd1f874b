#include "service/key_service.h"

#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "hsm/public_key.h"
#include "ksef/cert/certificate_info.h"
#include "service/grpc_status.h"

namespace ksef::service {
namespace {

namespace pb = ::ksef::hsm::v1;

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  int64_t micros = absl::ToUnixMicros(t);
  ts->set_seconds(micros / 1000000);
  ts->set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
}

pb::KeyState StateToProto(KeyState s) {
  switch (s) {
    case KeyState::kPendingCertificate:
      return pb::PENDING_CERTIFICATE;
    case KeyState::kActive:
      return pb::ACTIVE;
    case KeyState::kDisabled:
      return pb::DISABLED;
    case KeyState::kExpired:
      return pb::EXPIRED;
    case KeyState::kScheduledForDestruction:
      return pb::SCHEDULED_FOR_DESTRUCTION;
    case KeyState::kDestroyed:
      return pb::DESTROYED;
    case KeyState::kCreating:
      break;
  }
  return pb::KEY_STATE_UNSPECIFIED;
}

absl::StatusOr<KeyState> StateFromProto(pb::KeyState s) {
  switch (s) {
    case pb::PENDING_CERTIFICATE:
      return KeyState::kPendingCertificate;
    case pb::ACTIVE:
      return KeyState::kActive;
    case pb::DISABLED:
      return KeyState::kDisabled;
    case pb::EXPIRED:
      return KeyState::kExpired;
    case pb::SCHEDULED_FOR_DESTRUCTION:
      return KeyState::kScheduledForDestruction;
    case pb::DESTROYED:
      return KeyState::kDestroyed;
    default:
      return absl::InvalidArgumentError("state filter is not a known key state");
  }
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return HexUpper(absl::string_view(reinterpret_cast<char*>(md), sizeof(md)));
}

}  // namespace

absl::StatusOr<SubjectType> SubjectTypeFromProto(pb::KsefSubject::IdentifierType t) {
  switch (t) {
    case pb::KsefSubject::NIP:
      return SubjectType::kNip;
    case pb::KsefSubject::PESEL:
      return SubjectType::kPesel;
    case pb::KsefSubject::CERTIFICATE_FINGERPRINT:
      return SubjectType::kCertificateFingerprint;
    default:
      return absl::InvalidArgumentError(
          "subject.type must be NIP, PESEL or CERTIFICATE_FINGERPRINT");
  }
}

absl::StatusOr<KeyPurpose> PurposeFromProto(pb::KeyPurpose p) {
  switch (p) {
    case pb::AUTHENTICATION:
      return KeyPurpose::kAuthentication;
    case pb::OFFLINE:
      return KeyPurpose::kOffline;
    default:
      return absl::InvalidArgumentError(
          "purpose must be AUTHENTICATION or OFFLINE (it cannot be changed later)");
  }
}

void ToProto(const KeyRecord& r, pb::Key* key) {
  key->set_name(r.name());
  key->set_pkcs11_uri(r.pkcs11_uri);
  key->mutable_subject()->set_type(static_cast<pb::KsefSubject::IdentifierType>(r.subject_type));
  key->mutable_subject()->set_value(r.subject_value);
  key->set_purpose(r.purpose == KeyPurpose::kAuthentication ? pb::AUTHENTICATION : pb::OFFLINE);
  key->set_algorithm(r.algorithm == ::ksef::hsm::KeyAlgorithm::kEcP256 ? pb::EC_P256
                                                                       : pb::RSA_2048);
  key->set_state(StateToProto(r.state));
  SetTime(r.create_time, key->mutable_create_time());
  SetTime(r.update_time, key->mutable_update_time());
  if (r.destroy_time) SetTime(*r.destroy_time, key->mutable_destroy_time());
  auto* a = key->mutable_attestation();
  a->set_local(r.attestation.local);
  a->set_sensitive(r.attestation.sensitive);
  a->set_extractable(r.attestation.extractable);
  a->set_always_sensitive(r.attestation.always_sensitive);
  a->set_never_extractable(r.attestation.never_extractable);
  key->set_origin(r.attestation.local ? pb::GENERATED : pb::IMPORTED);
  if (!r.certificate_der.empty()) {
    auto* c = key->mutable_certificate();
    c->set_der(r.certificate_der);
    auto info = cert::ParseCertificateDer(r.certificate_der);
    if (info.ok()) {
      c->set_serial_number(info->serial_hex);
      c->set_serial_number_decimal(info->serial_decimal);
      c->set_sha256_fingerprint(info->sha256_fingerprint);
      c->set_subject(info->subject);
      c->set_issuer(info->issuer);
      c->set_signature_algorithm(info->signature_algorithm);
      SetTime(info->not_before, c->mutable_not_before());
      SetTime(info->not_after, c->mutable_not_after());
    }
  }
}

grpc::Status KeyServiceImpl::CreateKey(grpc::ServerContext*, const pb::CreateKeyRequest* req,
                                       pb::Key* resp) {
  CreateKeyParams params;
  params.key_id = req->key_id();
  auto subject_type = SubjectTypeFromProto(req->subject().type());
  if (!subject_type.ok()) return ToGrpcStatus(subject_type.status());
  params.subject_type = *subject_type;
  params.subject_value = req->subject().value();
  auto purpose = PurposeFromProto(req->purpose());
  if (!purpose.ok()) return ToGrpcStatus(purpose.status());
  params.purpose = *purpose;
  switch (req->algorithm()) {
    case pb::KEY_ALGORITHM_UNSPECIFIED:
    case pb::EC_P256:
      params.algorithm = ::ksef::hsm::KeyAlgorithm::kEcP256;
      break;
    case pb::RSA_2048:
      params.algorithm = ::ksef::hsm::KeyAlgorithm::kRsa2048;
      break;
    default:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "algorithm must be EC_P256 or RSA_2048");
  }
  auto record = keys_->Create(params);
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, resp);
  return grpc::Status::OK;
}

grpc::Status KeyServiceImpl::GetKey(grpc::ServerContext*, const pb::GetKeyRequest* req,
                                    pb::Key* resp) {
  auto record = keys_->Get(req->name());
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, resp);
  return grpc::Status::OK;
}

grpc::Status KeyServiceImpl::ListKeys(grpc::ServerContext*, const pb::ListKeysRequest* req,
                                      pb::ListKeysResponse* resp) {
  KeyFilter filter;
  if (req->has_subject()) {
    if (req->subject().type() != pb::KsefSubject::IDENTIFIER_TYPE_UNSPECIFIED) {
      auto t = SubjectTypeFromProto(req->subject().type());
      if (!t.ok()) return ToGrpcStatus(t.status());
      filter.subject_type = *t;
    }
    if (!req->subject().value().empty()) filter.subject_value = req->subject().value();
  }
  if (req->purpose() != pb::KEY_PURPOSE_UNSPECIFIED) {
    auto p = PurposeFromProto(req->purpose());
    if (!p.ok()) return ToGrpcStatus(p.status());
    filter.purpose = *p;
  }
  if (req->state() != pb::KEY_STATE_UNSPECIFIED) {
    auto s = StateFromProto(req->state());
    if (!s.ok()) return ToGrpcStatus(s.status());
    filter.state = *s;
  }
  if (req->has_expiring_within()) {
    absl::Duration window = absl::Seconds(req->expiring_within().seconds()) +
                            absl::Nanoseconds(req->expiring_within().nanos());
    if (window <= absl::ZeroDuration()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "expiring_within must be a positive duration (e.g. 30 days)");
    }
    filter.certificate_expires_before = absl::Now() + window;
  }
  std::string next;
  int total = 0;
  auto records = keys_->List(filter, req->page_token(), req->page_size(), &next, &total);
  if (!records.ok()) return ToGrpcStatus(records.status());
  for (const auto& r : *records) ToProto(r, resp->add_keys());
  resp->set_next_page_token(next);
  resp->set_total_size(total);
  return grpc::Status::OK;
}

grpc::Status KeyServiceImpl::GetPublicKey(grpc::ServerContext*,
                                          const pb::GetPublicKeyRequest* req,
                                          pb::PublicKey* resp) {
  auto record = keys_->Get(req->name());
  if (!record.ok()) return ToGrpcStatus(record.status());
  auto pem = ::ksef::hsm::SpkiToPem(record->public_key_der);
  if (!pem.ok()) return ToGrpcStatus(pem.status());
  resp->set_name(record->name());
  resp->set_algorithm(record->algorithm == ::ksef::hsm::KeyAlgorithm::kEcP256 ? pb::EC_P256
                                                                              : pb::RSA_2048);
  resp->set_der(record->public_key_der);
  resp->set_pem(*pem);
  resp->set_sha256_fingerprint(Sha256Hex(record->public_key_der));
  return grpc::Status::OK;
}

grpc::Status KeyServiceImpl::DisableKey(grpc::ServerContext*, const pb::DisableKeyRequest* req,
                                        pb::Key* resp) {
  auto record = keys_->Disable(req->name());
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, resp);
  return grpc::Status::OK;
}

grpc::Status KeyServiceImpl::EnableKey(grpc::ServerContext*, const pb::EnableKeyRequest* req,
                                       pb::Key* resp) {
  auto record = keys_->Enable(req->name());
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, resp);
  return grpc::Status::OK;
}

grpc::Status KeyServiceImpl::ScheduleKeyDestruction(
    grpc::ServerContext*, const pb::ScheduleKeyDestructionRequest* req, pb::Key* resp) {
  auto record = keys_->ScheduleDestruction(req->name());
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, resp);
  return grpc::Status::OK;
}

grpc::Status KeyServiceImpl::RestoreKey(grpc::ServerContext*, const pb::RestoreKeyRequest* req,
                                        pb::Key* resp) {
  auto record = keys_->Restore(req->name());
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, resp);
  return grpc::Status::OK;
}

grpc::Status KeyServiceImpl::CheckConsistency(grpc::ServerContext*,
                                              const pb::CheckConsistencyRequest*,
                                              pb::ConsistencyReport* resp) {
  auto report = keys_->Reconcile();
  if (!report.ok()) return ToGrpcStatus(report.status());
  for (const auto& u : report->unknown_token_keys) resp->add_unknown_token_keys(u);
  for (const auto& m : report->missing_keys) resp->add_missing_keys(m);
  resp->set_checked_keys(report->checked_keys);
  return grpc::Status::OK;
}

}  // namespace ksef::service
