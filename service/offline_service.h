// OfflineServiceImpl: ksef.hsm.v1.OfflineInvoiceService, the KOD I and
// signed KOD II codes of offline invoices (formats/qr). The signed string is
// built here from validated fields; only ACTIVE Offline keys with a valid
// certificate sign, each signature is audited (one event per invoice; a
// stream writes the events of the invoices it has at hand in one commit).
// Thread-safe.
#ifndef KSEF_SERVICE_OFFLINE_SERVICE_H_
#define KSEF_SERVICE_OFFLINE_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "ksef/hsm/v1/offline_service.grpc.pb.h"
#include "service/audited_call.h"
#include "service/key_manager.h"
#include "service/signing_gate.h"
#include "service/stream_limits.h"

namespace ksef::service {

class OfflineServiceImpl final : public ksef::hsm::v1::OfflineInvoiceService::Service {
 public:
  // `default_base_url`: the link base for requests that name no environment
  // (config qr_environment / qr_base_url). All pointers must outlive this.
  OfflineServiceImpl(KeyManager* keys, const AccessGuard* guard, const SigningGate* gate,
                     StreamLimits* streams, std::string default_base_url, bool base_url_fixed)
      : keys_(keys),
        guard_(guard),
        gate_(gate),
        streams_(streams),
        default_base_url_(std::move(default_base_url)),
        base_url_fixed_(base_url_fixed) {}

  grpc::Status SignOfflineInvoice(grpc::ServerContext* context,
                                  const ksef::hsm::v1::SignOfflineInvoiceRequest* request,
                                  ksef::hsm::v1::OfflineInvoiceCodes* response) override;
  grpc::Status SignOfflineInvoices(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<ksef::hsm::v1::OfflineInvoiceResult,
                               ksef::hsm::v1::SignOfflineInvoiceRequest>* stream) override;

 private:
  // Authorizes, validates and signs one invoice into `codes`; the caller
  // ends `call` (Finish or EndEvent) with the returned status.
  absl::Status SignOne(AuditedCall& call, const ksef::hsm::v1::SignOfflineInvoiceRequest& request,
                       ksef::hsm::v1::OfflineInvoiceCodes* codes);
  std::string BaseUrlFor(ksef::hsm::v1::QrEnvironment environment) const;
  // The batch stream of an admitted caller holding a stream slot.
  grpc::Status Serve(grpc::ServerContext* context,
                     grpc::ServerReaderWriter<ksef::hsm::v1::OfflineInvoiceResult,
                                              ksef::hsm::v1::SignOfflineInvoiceRequest>* stream,
                     StreamTicket& ticket);
  // A chunk of a stream signed but not yet recorded: its calls hold their
  // usage reservations until RecordChunk settles them (or, dropped, their
  // destructors give them back).
  struct SignedChunk {
    std::vector<ksef::hsm::v1::SignOfflineInvoiceRequest> requests;
    std::vector<ksef::hsm::v1::OfflineInvoiceResult> results;
    std::vector<std::unique_ptr<AuditedCall>> calls;
    std::vector<absl::Status> statuses;
    std::vector<audit::AuditEvent> events;
  };
  // Stage 1 of a stream: authorizes and signs each invoice of `chunk`.
  SignedChunk SignChunk(grpc::ServerContext* context,
                        std::vector<ksef::hsm::v1::SignOfflineInvoiceRequest> chunk);
  // Stage 2: records the chunk's events in one commit, settles its calls and
  // numbers its results from `index`. Not OK if that commit failed (then
  // every non-refused result carries that error).
  absl::Status RecordChunk(SignedChunk& chunk, int64_t& index);

  KeyManager* const keys_;
  const AccessGuard* const guard_;
  const SigningGate* const gate_;
  StreamLimits* const streams_;
  const std::string default_base_url_;
  const bool base_url_fixed_;  // qr_base_url set: requests cannot choose
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_OFFLINE_SERVICE_H_
