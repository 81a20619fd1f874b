#include "service/offline_service.h"

#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "formats/qr/fields.h"
#include "formats/qr/invoice_xml.h"
#include "formats/qr/links.h"
#include "formats/qr/qr_image.h"
#include "service/context_identifier.h"
#include "service/grpc_status.h"
#include "service/key_service.h"
#include "service/signing_key_choice.h"

namespace ksef::service {
namespace {

namespace pb = ::ksef::hsm::v1;

// Invoices signed per audit commit in a stream (at most; fewer when the
// client sends slowly, so a client waiting for each answer is never stalled).
constexpr size_t kStreamChunk = 256;
// Requests a stream may have read but not yet signed, in bytes (invoice XML
// can be megabytes each): past this the server stops reading from it.
constexpr size_t kMaxQueuedBytes = 8 << 20;

// The requests a batch stream has read but not yet signed, between its
// reader thread (Push, CloseReading) and its signing thread (TakeChunk,
// Stop). Thread-safe.
class RequestQueue {
 public:
  explicit RequestQueue(grpc::ServerContext* context) : context_(context) {}

  // Queues `request`, then waits while the queue is full (a few chunks or
  // kMaxQueuedBytes): back-pressure, so flow control stops the client.
  void Push(pb::SignOfflineInvoiceRequest request) {
    absl::MutexLock lock(&mu_);
    queued_bytes_ += request.ByteSizeLong();
    queue_.push_back(std::move(request));
    auto has_room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return (queue_.size() < 4 * kStreamChunk && queued_bytes_ < kMaxQueuedBytes) ||
             context_->IsCancelled();
    };
    mu_.Await(absl::Condition(&has_room));
  }
  // The reader saw the end of the stream (or it was cancelled).
  void CloseReading() {
    absl::MutexLock lock(&mu_);
    reading_done_ = true;
  }
  // Waits for requests and takes up to kStreamChunk; empty once reading is
  // done and nothing is left.
  std::vector<pb::SignOfflineInvoiceRequest> TakeChunk() {
    std::vector<pb::SignOfflineInvoiceRequest> chunk;
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !queue_.empty() || reading_done_;
    };
    mu_.Await(absl::Condition(&ready));
    while (!queue_.empty() && chunk.size() < kStreamChunk) {
      queued_bytes_ -= queue_.front().ByteSizeLong();
      chunk.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return chunk;
  }
  // The signing side stopped: cancels the call if the reader is still in
  // Read() (so it returns) and drops what is queued.
  void Stop() {
    absl::MutexLock lock(&mu_);
    if (!reading_done_) context_->TryCancel();
    queue_.clear();
  }

 private:
  grpc::ServerContext* const context_;
  absl::Mutex mu_;
  std::deque<pb::SignOfflineInvoiceRequest> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_done_ ABSL_GUARDED_BY(mu_) = false;
};

// One item between the two stages of a stream (sign, then record and
// answer): the signer puts chunk k+1 while the recorder commits chunk k.
// Put waits while the slot is full; once the recorder gives up (Abandon) it
// returns false. Take returns nullopt when the signer is done (Close) and the
// slot is empty. Thread-safe.
template <typename T>
class Handoff {
 public:
  bool Put(T item) {
    absl::MutexLock lock(&mu_);
    auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !slot_ || abandoned_; };
    mu_.Await(absl::Condition(&room));
    if (abandoned_) return false;
    slot_ = std::move(item);
    return true;
  }
  std::optional<T> Take() {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return slot_ || closed_; };
    mu_.Await(absl::Condition(&ready));
    std::optional<T> item = std::move(slot_);
    slot_.reset();
    return item;
  }
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  void Abandon() {
    absl::MutexLock lock(&mu_);
    abandoned_ = true;
  }

 private:
  absl::Mutex mu_;
  std::optional<T> slot_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool abandoned_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<qr::InvoiceRef> InvoiceOf(const pb::SignOfflineInvoiceRequest& req) {
  switch (req.invoice_case()) {
    case pb::SignOfflineInvoiceRequest::kInvoiceXml:
      return qr::InvoiceRefFromXml(req.invoice_xml());
    case pb::SignOfflineInvoiceRequest::kInvoiceData: {
      qr::InvoiceRef ref;
      ref.seller_nip = req.invoice_data().seller_nip();
      KSEF_ASSIGN_OR_RETURN(ref.issue_date,
                            qr::ParseIssueDate(req.invoice_data().issue_date(), "invoice.issue_date"));
      ref.invoice_sha256 = req.invoice_data().invoice_sha256();
      KSEF_RETURN_IF_ERROR(qr::ValidateInvoiceRef(ref));
      return ref;
    }
    default:
      return absl::InvalidArgumentError(
          "invoice: give invoice_xml (the file as sent to KSeF) or invoice_data (seller NIP, "
          "issue date, SHA-256 of the file)");
  }
}

absl::Status RenderImages(const std::string& kod_i, const std::string& kod_i_label,
                          const std::string& kod_ii, pb::OfflineInvoiceCodes* codes) {
  qr::QrImageOptions options;
  options.label = kod_i_label;
  KSEF_ASSIGN_OR_RETURN(*codes->mutable_kod_i_png(), qr::RenderPng(kod_i, options));
  KSEF_ASSIGN_OR_RETURN(*codes->mutable_kod_i_svg(), qr::RenderSvg(kod_i, options));
  options.label = qr::kLabelCertificate;
  KSEF_ASSIGN_OR_RETURN(*codes->mutable_kod_ii_png(), qr::RenderPng(kod_ii, options));
  KSEF_ASSIGN_OR_RETURN(*codes->mutable_kod_ii_svg(), qr::RenderSvg(kod_ii, options));
  return absl::OkStatus();
}

}  // namespace

std::string OfflineServiceImpl::BaseUrlFor(pb::QrEnvironment environment) const {
  if (base_url_fixed_) return default_base_url_;
  switch (environment) {
    case pb::QR_TEST:
      return qr::QrBaseUrl(qr::Environment::kTest);
    case pb::QR_DEMO:
      return qr::QrBaseUrl(qr::Environment::kDemo);
    case pb::QR_PRODUCTION:
      return qr::QrBaseUrl(qr::Environment::kProd);
    default:
      return default_base_url_;
  }
}

absl::Status OfflineServiceImpl::SignOne(AuditedCall& call,
                                         const pb::SignOfflineInvoiceRequest& req,
                                         pb::OfflineInvoiceCodes* codes) {
  KSEF_ASSIGN_OR_RETURN(KeyRecord key, ChooseSigningKey(
                              call, *keys_, req.name(), req.subject(), Role::kOfflineSigning,
                              KeyPurpose::kOffline,
                              "name: give the Offline key (keys/{id}), or a subject to use its "
                              "active Offline key"));
  KSEF_ASSIGN_OR_RETURN(AuthorizedKey authorized,
                        gate_->Authorize(call, std::move(key), Role::kOfflineSigning));
  KSEF_ASSIGN_OR_RETURN(
      RequestContext context,
      ContextFromProto(req.context_identifier(), " (the context the invoice is issued in)"));
  KSEF_RETURN_IF_ERROR(qr::ValidateContextValue(context.type, context.value,
                                                "context_identifier"));
  call.SetContext(ContextText(context));
  KSEF_ASSIGN_OR_RETURN(qr::InvoiceRef invoice, InvoiceOf(req));
  KSEF_RETURN_IF_ERROR(qr::ValidateKsefNumberLabel(req.ksef_number(), "ksef_number"));
  const std::string base = BaseUrlFor(req.environment());
  KSEF_ASSIGN_OR_RETURN(SigningPermit permit,
                        gate_->Permit(std::move(authorized), KeyPurpose::kOffline));
  const std::string& serial = permit.certificate()->info.serial_hex;
  KSEF_ASSIGN_OR_RETURN(qr::KodII kod_ii, qr::SignKodII(base, context.type, context.value,
                                                        invoice, serial, permit.signer()));
  call.SetSignedBytes(kod_ii.signed_string);
  KSEF_ASSIGN_OR_RETURN(std::string kod_i, qr::BuildKodI(base, invoice));

  codes->set_name(permit.key().name());
  codes->set_kod_i_link(kod_i);
  codes->set_kod_ii_link(kod_ii.link);
  codes->set_seller_nip(invoice.seller_nip);
  codes->set_issue_date(absl::FormatCivilTime(invoice.issue_date));
  codes->set_invoice_hash(Base64UrlEncode(invoice.invoice_sha256));
  codes->set_certificate_serial_number(serial);
  const std::string label = req.ksef_number().empty() ? std::string(qr::kLabelOffline)
                                                      : req.ksef_number();
  codes->set_kod_i_label(label);
  if (req.images()) KSEF_RETURN_IF_ERROR(RenderImages(kod_i, label, kod_ii.link, codes));
  return absl::OkStatus();
}

// What the event of a refused call may say about its target: the key name
// or subject as requested, if well-formed.
static void NoteTarget(AuditedCall& call, const pb::SignOfflineInvoiceRequest& req) {
  if (!req.name().empty()) {
    call.RequestKey(req.name());
  } else if (auto type = SubjectTypeFromProto(req.subject().type()); type.ok()) {
    call.RequestSubject(*type, req.subject().value());
  }
}

grpc::Status OfflineServiceImpl::SignOfflineInvoice(grpc::ServerContext* context,
                                                    const pb::SignOfflineInvoiceRequest* req,
                                                    pb::OfflineInvoiceCodes* resp) {
  AuditedCall call(*guard_, *context, "SignOfflineInvoice");
  NoteTarget(call, *req);
  absl::Status status = call.Admit({Role::kOfflineSigning});
  if (status.ok()) status = SignOne(call, *req, resp);
  if (!status.ok()) resp->Clear();
  return call.Finish(status);
}

grpc::Status OfflineServiceImpl::SignOfflineInvoices(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<pb::OfflineInvoiceResult, pb::SignOfflineInvoiceRequest>* stream) {
  // Authenticate before reading anything: a stream without a certificate or
  // without any offline-signing grant is closed at once.
  AuditedCall admission(*guard_, *context, "SignOfflineInvoices");
  if (absl::Status s = admission.Admit({Role::kOfflineSigning}); !s.ok()) {
    return admission.Finish(s);
  }
  absl::StatusOr<std::unique_ptr<StreamTicket>> ticket = streams_->Open(context);
  if (!ticket.ok()) return admission.Finish(ticket.status());
  return Serve(context, stream, **ticket);
}

grpc::Status OfflineServiceImpl::Serve(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<pb::OfflineInvoiceResult, pb::SignOfflineInvoiceRequest>* stream,
    StreamTicket& ticket) {
  // Three threads: a reader queues requests (bounded in count and bytes);
  // this thread signs whatever is queued (up to kStreamChunk) and hands the
  // chunk to a recorder, which records its events in one commit and answers
  // while this thread signs the next chunk.
  RequestQueue queue(context);
  std::thread reader([&] {
    pb::SignOfflineInvoiceRequest request;
    while (stream->Read(&request)) {
      ticket.Received();
      queue.Push(std::move(request));
      request = pb::SignOfflineInvoiceRequest();
    }
    queue.CloseReading();
  });

  Handoff<SignedChunk> signed_chunks;
  grpc::Status final_status = grpc::Status::OK;
  std::thread recorder([&] {
    int64_t index = 0;
    while (std::optional<SignedChunk> chunk = signed_chunks.Take()) {
      absl::Status recorded = RecordChunk(*chunk, index);
      bool write_failed = false;
      for (size_t i = 0; i < chunk->results.size() && !write_failed; ++i) {
        ticket.WriteStarted();
        write_failed = !stream->Write(chunk->results[i]);
        ticket.WriteFinished();
      }
      if (!recorded.ok()) {
        final_status = ToGrpcStatus(recorded);  // fail closed: end the stream
      } else if (write_failed || context->IsCancelled()) {
        // A reaped stream was reset: the client sees CANCELLED whatever this
        // says; the reason is in the server log (StreamLimits).
        std::string why = ticket.reaped_reason();
        final_status = grpc::Status(grpc::StatusCode::CANCELLED,
                                    why.empty() ? "the client went away" : why);
      } else {
        continue;
      }
      // Stop signing: a chunk signed meanwhile is dropped unrecorded and
      // unanswered (its calls give their reservations back).
      signed_chunks.Abandon();
      queue.Stop();
      break;
    }
  });
  while (true) {
    std::vector<pb::SignOfflineInvoiceRequest> chunk = queue.TakeChunk();
    if (chunk.empty()) break;  // the client finished sending, or the recorder stopped
    if (!signed_chunks.Put(SignChunk(context, std::move(chunk)))) break;
  }
  signed_chunks.Close();
  recorder.join();
  queue.Stop();
  reader.join();
  if (std::string why = ticket.reaped_reason(); !why.empty() && final_status.ok()) {
    final_status = grpc::Status(grpc::StatusCode::CANCELLED, why);
  }
  return final_status;
}

OfflineServiceImpl::SignedChunk OfflineServiceImpl::SignChunk(
    grpc::ServerContext* context, std::vector<pb::SignOfflineInvoiceRequest> chunk) {
  SignedChunk out;
  out.requests = std::move(chunk);
  out.results.resize(out.requests.size());
  for (size_t i = 0; i < out.requests.size(); ++i) {
    out.calls.push_back(std::make_unique<AuditedCall>(*guard_, *context, "SignOfflineInvoices"));
    AuditedCall& call = *out.calls.back();
    NoteTarget(call, out.requests[i]);
    absl::Status s = call.Admit({Role::kOfflineSigning});
    if (s.ok()) s = SignOne(call, out.requests[i], out.results[i].mutable_codes());
    out.statuses.push_back(s);
    // Refusals are aggregated like those of unary calls; the rest are
    // recorded together in one commit.
    if (call.refused()) {
      guard_->refusals()->Add(call.EndEvent(s));
    } else {
      out.events.push_back(call.EndEvent(s));
    }
  }
  return out;
}

absl::Status OfflineServiceImpl::RecordChunk(SignedChunk& chunk, int64_t& index) {
  auto recorded = guard_->log()->RecordAll(std::move(chunk.events));
  for (size_t i = 0; i < chunk.requests.size(); ++i) {
    chunk.calls[i]->Settle(recorded.ok() && chunk.statuses[i].ok());
    pb::OfflineInvoiceResult& r = chunk.results[i];
    r.set_index(index++);
    r.set_request_id(chunk.requests[i].request_id());
    absl::Status s =
        recorded.ok() || chunk.calls[i]->refused() ? chunk.statuses[i] : recorded.status();
    if (!s.ok()) {
      r.clear_codes();
      r.set_error_code(static_cast<int>(s.code()));
      r.set_error_message(std::string(s.message()));
    }
  }
  return recorded.status();
}

}  // namespace ksef::service
