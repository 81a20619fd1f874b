#include "service/key_service.h"


#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/public_key.h"
#include "crypto/sha256.h"
#include "formats/cert/certificate_info.h"
#include "service/grpc_status.h"

namespace ksef::service {
namespace {

namespace pb = ::ksef::hsm::v1;

// Reading a key (GetKey, GetPublicKey, ListKeys of a subject): any role on it.
constexpr std::initializer_list<Role> kReadRoles = {Role::kKeyAdmin, Role::kEnrollment,
                                                     Role::kAuthSigning, Role::kOfflineSigning};

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
    case KeyState::kDestroying:  // not shown (lifecycle::EffectiveState)
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

void ToProto(const KeyRecord& r, CertificateCache& certificates, pb::Key* key) {
  key->set_name(r.name());
  key->set_pkcs11_uri(r.pkcs11_uri);
  key->mutable_subject()->set_type(static_cast<pb::KsefSubject::IdentifierType>(r.subject_type));
  key->mutable_subject()->set_value(r.subject_value);
  key->set_purpose(r.purpose == KeyPurpose::kAuthentication ? pb::AUTHENTICATION : pb::OFFLINE);
  key->set_algorithm(r.algorithm == crypto::KeyAlgorithm::kEcP256 ? pb::EC_P256
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
  key->set_usage_limit(r.usage_limit);
  if (!r.certificate_der.empty()) {
    auto* c = key->mutable_certificate();
    c->set_der(r.certificate_der);
    auto cached = certificates.Get(r.certificate_der);
    if (cached.ok()) {
      const cert::CertificateInfo* info = &(*cached)->info;
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

grpc::Status KeyServiceImpl::CreateKey(grpc::ServerContext* context,
                                       const pb::CreateKeyRequest* req, pb::Key* resp) {
  AuditedCall call(*guard_, *context, "CreateKey");
  return call.Finish([&]() -> absl::Status {
    CreateKeyParams params;
    KSEF_RETURN_IF_ERROR(AdmitNewKey(call, *req, params));
    switch (req->algorithm()) {
      case pb::KEY_ALGORITHM_UNSPECIFIED:
      case pb::EC_P256:
        params.algorithm = crypto::KeyAlgorithm::kEcP256;
        break;
      case pb::RSA_2048:
        params.algorithm = crypto::KeyAlgorithm::kRsa2048;
        break;
      default:
        return absl::InvalidArgumentError("algorithm must be EC_P256 or RSA_2048");
    }
    params.usage_limit = req->usage_limit();
    KSEF_RETURN_IF_ERROR(call.RequireAuditable());
    KSEF_ASSIGN_OR_RETURN(KeyRecord record, keys_->Create(params));
    call.SetKey(record);
    ToProto(record, keys_->certificates(), resp);
    return absl::OkStatus();
  }());
}

grpc::Status KeyServiceImpl::GetKey(grpc::ServerContext* context, const pb::GetKeyRequest* req,
                                    pb::Key* resp) {
  AuditedCall call(*guard_, *context, "GetKey");
  return call.Finish([&]() -> absl::Status {
    call.RequestKey(req->name());
    KSEF_RETURN_IF_ERROR(call.Admit(kReadRoles));
    absl::StatusOr<KeyRecord> found = keys_->Get(req->name());
    if (!found.ok()) return call.LookupFailed(found.status());
    const KeyRecord& record = *found;
    call.SetKey(record);
    KSEF_RETURN_IF_ERROR(call.AuthorizeAny(kReadRoles, ResourceOf(record)));
    ToProto(record, keys_->certificates(), resp);
    return absl::OkStatus();
  }());
}

grpc::Status KeyServiceImpl::ListKeys(grpc::ServerContext* context,
                                      const pb::ListKeysRequest* req,
                                      pb::ListKeysResponse* resp) {
  AuditedCall call(*guard_, *context, "ListKeys");
  return call.Finish([&]() -> absl::Status {
    // Listing one subject's keys needs a role on that subject; anything wider
    // needs key-admin on '*'.
    const bool one_subject = req->has_subject() &&
                             req->subject().type() != pb::KsefSubject::IDENTIFIER_TYPE_UNSPECIFIED &&
                             !req->subject().value().empty();
    KeyFilter filter;
    if (one_subject) {
      auto type = SubjectTypeFromProto(req->subject().type());
      if (type.ok()) call.RequestSubject(*type, req->subject().value());
      KSEF_RETURN_IF_ERROR(call.Admit(kReadRoles));
      KSEF_ASSIGN_OR_RETURN(filter.subject_type, std::move(type));
      std::string value = req->subject().value();
      KSEF_RETURN_IF_ERROR(NormalizeSubject(*filter.subject_type, value));
      filter.subject_value = value;
      KSEF_RETURN_IF_ERROR(
          call.AuthorizeAny(kReadRoles, Resource::Subject(*filter.subject_type, value)));
    } else {
      KSEF_RETURN_IF_ERROR(call.Admit({Role::kKeyAdmin}));
      KSEF_RETURN_IF_ERROR(call.Authorize(Role::kKeyAdmin, Resource::Everything()));
      if (req->has_subject()) {
        if (req->subject().type() != pb::KsefSubject::IDENTIFIER_TYPE_UNSPECIFIED) {
          KSEF_ASSIGN_OR_RETURN(filter.subject_type, SubjectTypeFromProto(req->subject().type()));
        }
        if (!req->subject().value().empty()) filter.subject_value = req->subject().value();
      }
    }
    if (req->purpose() != pb::KEY_PURPOSE_UNSPECIFIED) {
      KSEF_ASSIGN_OR_RETURN(filter.purpose, PurposeFromProto(req->purpose()));
    }
    if (req->state() != pb::KEY_STATE_UNSPECIFIED) {
      KSEF_ASSIGN_OR_RETURN(filter.state, StateFromProto(req->state()));
    }
    if (req->has_expiring_within()) {
      absl::Duration window = absl::Seconds(req->expiring_within().seconds()) +
                              absl::Nanoseconds(req->expiring_within().nanos());
      if (window <= absl::ZeroDuration()) {
        return absl::InvalidArgumentError(
            "expiring_within must be a positive duration (e.g. 30 days)");
      }
      filter.certificate_expires_before = absl::Now() + window;
    }
    std::string next;
    int total = 0;
    KSEF_ASSIGN_OR_RETURN(std::vector<KeyRecord> records,
                          keys_->List(filter, req->page_token(), req->page_size(), &next, &total));
    for (const auto& r : records) ToProto(r, keys_->certificates(), resp->add_keys());
    resp->set_next_page_token(next);
    resp->set_total_size(total);
    return absl::OkStatus();
  }());
}

grpc::Status KeyServiceImpl::GetPublicKey(grpc::ServerContext* context,
                                          const pb::GetPublicKeyRequest* req,
                                          pb::PublicKey* resp) {
  AuditedCall call(*guard_, *context, "GetPublicKey");
  return call.Finish([&]() -> absl::Status {
    call.RequestKey(req->name());
    KSEF_RETURN_IF_ERROR(call.Admit(kReadRoles));
    absl::StatusOr<KeyRecord> found = keys_->Get(req->name());
    if (!found.ok()) return call.LookupFailed(found.status());
    const KeyRecord& record = *found;
    call.SetKey(record);
    KSEF_RETURN_IF_ERROR(call.AuthorizeAny(kReadRoles, ResourceOf(record)));
    KSEF_ASSIGN_OR_RETURN(std::string pem, crypto::SpkiToPem(record.public_key_der));
    resp->set_name(record.name());
    resp->set_algorithm(record.algorithm == crypto::KeyAlgorithm::kEcP256 ? pb::EC_P256
                                                                               : pb::RSA_2048);
    resp->set_der(record.public_key_der);
    resp->set_pem(pem);
    resp->set_sha256_fingerprint(crypto::Sha256Hex(record.public_key_der));
    return absl::OkStatus();
  }());
}

grpc::Status KeyServiceImpl::Mutate(
    grpc::ServerContext* context, const char* operation, const std::string& name,
    const std::function<absl::StatusOr<KeyRecord>(absl::string_view)>& change, pb::Key* resp) {
  AuditedCall call(*guard_, *context, operation);
  return call.Finish([&]() -> absl::Status {
    call.RequestKey(name);
    KSEF_RETURN_IF_ERROR(call.Admit({Role::kKeyAdmin}));
    absl::StatusOr<KeyRecord> before = keys_->Get(name);
    if (!before.ok()) return call.LookupFailed(before.status());
    call.SetKey(*before);
    KSEF_RETURN_IF_ERROR(call.Authorize(Role::kKeyAdmin, ResourceOf(*before)));
    KSEF_RETURN_IF_ERROR(call.RequireAuditable());
    KSEF_ASSIGN_OR_RETURN(KeyRecord after, change(name));
    ToProto(after, keys_->certificates(), resp);
    return absl::OkStatus();
  }());
}

grpc::Status KeyServiceImpl::DisableKey(grpc::ServerContext* context,
                                        const pb::DisableKeyRequest* req, pb::Key* resp) {
  return Mutate(context, "DisableKey", req->name(),
                [this](absl::string_view n) { return keys_->Disable(n); }, resp);
}

grpc::Status KeyServiceImpl::EnableKey(grpc::ServerContext* context,
                                       const pb::EnableKeyRequest* req, pb::Key* resp) {
  return Mutate(context, "EnableKey", req->name(),
                [this](absl::string_view n) { return keys_->Enable(n); }, resp);
}

grpc::Status KeyServiceImpl::ScheduleKeyDestruction(grpc::ServerContext* context,
                                                    const pb::ScheduleKeyDestructionRequest* req,
                                                    pb::Key* resp) {
  return Mutate(context, "ScheduleKeyDestruction", req->name(),
                [this](absl::string_view n) { return keys_->ScheduleDestruction(n); }, resp);
}

grpc::Status KeyServiceImpl::RestoreKey(grpc::ServerContext* context,
                                        const pb::RestoreKeyRequest* req, pb::Key* resp) {
  return Mutate(context, "RestoreKey", req->name(),
                [this](absl::string_view n) { return keys_->Restore(n); }, resp);
}

grpc::Status KeyServiceImpl::SetKeyUsageLimit(grpc::ServerContext* context,
                                              const pb::SetKeyUsageLimitRequest* req,
                                              pb::Key* resp) {
  const int64_t limit = req->usage_limit();
  return Mutate(context, "SetKeyUsageLimit", req->name(),
                [this, limit](absl::string_view n) { return keys_->SetUsageLimit(n, limit); },
                resp);
}

grpc::Status KeyServiceImpl::CheckConsistency(grpc::ServerContext* context,
                                              const pb::CheckConsistencyRequest*,
                                              pb::ConsistencyReport* resp) {
  AuditedCall call(*guard_, *context, "CheckConsistency");
  return call.Finish([&]() -> absl::Status {
    KSEF_RETURN_IF_ERROR(call.Admit({Role::kKeyAdmin}));
    KSEF_RETURN_IF_ERROR(call.Authorize(Role::kKeyAdmin, Resource::Everything()));
    KSEF_ASSIGN_OR_RETURN(ConsistencyReport report, keys_->Reconcile());
    for (const auto& u : report.unknown_token_keys) resp->add_unknown_token_keys(u);
    for (const auto& m : report.missing_keys) resp->add_missing_keys(m);
    for (const auto& f : report.foreign_internal_label_keys) {
      resp->add_foreign_internal_label_keys(f);
    }
    for (const auto& o : report.incomplete_token_objects) resp->add_incomplete_token_objects(o);
    resp->set_checked_keys(report.checked_keys);
    return absl::OkStatus();
  }());
}

}  // namespace ksef::service
