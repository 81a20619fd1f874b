#include "service/audit_service.h"


#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "audit/verifier.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/public_key.h"
#include "crypto/sha256.h"

namespace ksef::service {
namespace {

namespace pb = ::ksef::hsm::v1;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
// Well under gRPC's default 4 MiB receive limit of the callers.
constexpr size_t kMaxPageBytes = 1 << 20;

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t micros = absl::ToUnixMicros(t);
  ts->set_seconds(micros / 1000000);
  ts->set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
}

std::optional<absl::Time> TimeOf(bool present, const google::protobuf::Timestamp& ts) {
  if (!present) return std::nullopt;
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

pb::AuditOutcome OutcomeToProto(audit::Outcome o) {
  switch (o) {
    case audit::Outcome::kSuccess:
      return pb::SUCCESS;
    case audit::Outcome::kFailure:
      return pb::FAILURE;
    case audit::Outcome::kDenied:
      return pb::DENIED;
  }
  return pb::AUDIT_OUTCOME_UNSPECIFIED;
}

std::string KeyName(const std::string& name) {
  if (name.empty() || absl::StartsWith(name, "keys/")) return name;
  return absl::StrCat("keys/", name);
}

}  // namespace

void ToProto(const audit::AuditEvent& e, pb::AuditEvent* out) {
  out->set_node(e.node);
  out->set_seq(e.seq);
  SetTime(e.time, out->mutable_time());
  out->mutable_caller()->set_subject(e.caller.subject);
  out->mutable_caller()->set_issuer(e.caller.issuer);
  out->mutable_caller()->set_serial(e.caller.serial);
  out->mutable_caller()->set_identity(e.caller.name);
  out->set_operation(e.operation);
  out->set_key_name(e.key_name);
  out->set_key_public_key_sha256(e.key_public_hash);
  out->set_subject(e.subject);
  out->set_context(e.context);
  out->set_signed_sha256(e.signed_sha256);
  out->set_outcome(OutcomeToProto(e.outcome));
  out->set_status_code(e.status_code);
  out->set_message(e.message);
  out->set_prev_hash(e.prev_hash);
  out->set_hash(e.hash);
  out->set_peer(e.peer);
  out->set_count(e.count);
}

grpc::Status AuditServiceImpl::ListAuditEvents(grpc::ServerContext* context,
                                               const pb::ListAuditEventsRequest* req,
                                               pb::ListAuditEventsResponse* resp) {
  AuditedCall call(*guard_, *context, "ListAuditEvents");
  return call.Finish([&]() -> absl::Status {
    KSEF_RETURN_IF_ERROR(call.Admit({Role::kAuditReading}));
    KSEF_RETURN_IF_ERROR(call.Authorize(Role::kAuditReading, Resource::Everything()));
    audit::AuditQuery q;
    q.since = TimeOf(req->has_start_time(), req->start_time());
    q.until = TimeOf(req->has_end_time(), req->end_time());
    q.caller = req->caller();
    q.key_name = KeyName(req->key_name());
    q.subject = req->subject();
    q.operation = req->operation();
    switch (req->outcome()) {
      case pb::SUCCESS:
        q.outcome = audit::Outcome::kSuccess;
        break;
      case pb::FAILURE:
        q.outcome = audit::Outcome::kFailure;
        break;
      case pb::DENIED:
        q.outcome = audit::Outcome::kDenied;
        break;
      default:
        break;
    }
    if (req->page_size() < 0 || req->page_size() > kMaxPageSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("page_size must be between 0 and ", kMaxPageSize));
    }
    q.limit = req->page_size() == 0 ? kDefaultPageSize : req->page_size();
    if (!req->page_token().empty() && !absl::SimpleAtoi(req->page_token(), &q.after_id)) {
      return absl::InvalidArgumentError("page_token is not one this server returned");
    }
    KSEF_ASSIGN_OR_RETURN(audit::AuditPage page, store_->Query(q));
    // A page is bounded in bytes as well as in count (older stores may hold
    // events of any size): it ends early, with a token, past kMaxPageBytes.
    size_t bytes = 0;
    size_t taken = 0;
    for (; taken < page.events.size(); ++taken) {
      pb::AuditEvent event;
      ToProto(page.events[taken], &event);
      bytes += event.ByteSizeLong();
      if (taken > 0 && bytes > kMaxPageBytes) break;
      *resp->add_events() = std::move(event);
    }
    if ((taken < page.events.size() || page.more) && taken > 0) {
      resp->set_next_page_token(absl::StrCat(page.ids[taken - 1]));
    }
    return absl::OkStatus();
  }());
}

grpc::Status AuditServiceImpl::GetKeyUsage(grpc::ServerContext* context,
                                           const pb::GetKeyUsageRequest* req,
                                           pb::GetKeyUsageResponse* resp) {
  AuditedCall call(*guard_, *context, "GetKeyUsage");
  return call.Finish([&]() -> absl::Status {
    KSEF_RETURN_IF_ERROR(call.Admit({Role::kAuditReading}));
    KSEF_RETURN_IF_ERROR(call.Authorize(Role::kAuditReading, Resource::Everything()));
    KSEF_ASSIGN_OR_RETURN(std::vector<audit::UsageCount> usage,
                          store_->Usage(KeyName(req->key_name()),
                                        TimeOf(req->has_start_time(), req->start_time()),
                                        TimeOf(req->has_end_time(), req->end_time())));
    for (const audit::UsageCount& u : usage) {
      pb::KeyUsage* out = resp->add_usage();
      out->set_key_name(u.key_name);
      out->set_operation(u.operation);
      out->set_count(u.count);
    }
    return absl::OkStatus();
  }());
}

grpc::Status AuditServiceImpl::VerifyAuditLog(grpc::ServerContext* context,
                                              const pb::VerifyAuditLogRequest*,
                                              pb::VerifyAuditLogResponse* resp) {
  AuditedCall call(*guard_, *context, "VerifyAuditLog");
  return call.Finish([&]() -> absl::Status {
    KSEF_RETURN_IF_ERROR(call.Admit({Role::kAuditReading}));
    KSEF_RETURN_IF_ERROR(call.Authorize(Role::kAuditReading, Resource::Everything()));
    audit::VerifyOptions options;
    options.trusted_public_key_der = guard_->log()->public_key_der();
    KSEF_ASSIGN_OR_RETURN(options.anchor, audit::ReadAnchorFile(anchor_file_));
    options.anchor_node = guard_->log()->node();  // replicas keep their own anchors
    KSEF_ASSIGN_OR_RETURN(audit::VerifyReport report, audit::VerifyAuditChain(*store_, options));
    resp->set_ok(report.ok);
    for (const audit::NodeReport& n : report.nodes) {
      pb::AuditChainReport* c = resp->add_chains();
      c->set_node(n.node);
      c->set_events(n.events);
      c->set_checkpoints(n.checkpoints);
      c->set_last_seq(n.last_seq);
      c->set_last_checkpoint_seq(n.last_checkpoint_seq);
      c->set_unprotected(n.unprotected);
      c->set_anchored_checkpoints(n.anchored_checkpoints);
      c->set_last_anchored_seq(n.last_anchored_seq);
    }
    resp->set_signatures_pinned(report.signatures_pinned);
    resp->set_anchor_checked(report.anchor_checked);
    resp->set_bad_node(report.bad_node);
    resp->set_bad_seq(report.bad_seq);
    resp->set_problem(report.problem);
    return absl::OkStatus();
  }());
}

grpc::Status AuditServiceImpl::GetAuditPublicKey(grpc::ServerContext* context,
                                                 const pb::GetAuditPublicKeyRequest*,
                                                 pb::AuditPublicKey* resp) {
  AuditedCall call(*guard_, *context, "GetAuditPublicKey");
  return call.Finish([&]() -> absl::Status {
    KSEF_RETURN_IF_ERROR(call.Admit({Role::kAuditReading}));
    KSEF_RETURN_IF_ERROR(call.Authorize(Role::kAuditReading, Resource::Everything()));
    const std::string& der = guard_->log()->public_key_der();
    KSEF_ASSIGN_OR_RETURN(std::string pem, crypto::SpkiToPem(der));
    resp->set_der(der);
    resp->set_pem(pem);
    resp->set_sha256_fingerprint(crypto::Sha256Hex(der));
    return absl::OkStatus();
  }());
}

}  // namespace ksef::service
