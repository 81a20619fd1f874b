// Test-only: an OfflineInvoiceService that records the requests it gets and
// answers with canned codes (and, on request, canned PNG and SVG images), for
// the client tests. FakeServer (fake_server.h) runs it beside the others.
#ifndef KSEF_CLIENT_TESTING_FAKE_OFFLINE_SERVICE_H_
#define KSEF_CLIENT_TESTING_FAKE_OFFLINE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ksef/hsm/v1/offline_service.grpc.pb.h"

namespace ksef::client::testing {

class FakeOfflineService final : public ::ksef::hsm::v1::OfflineInvoiceService::Service {
 public:
  static constexpr char kSerial[] = "01F20A5D352AE590";
  static constexpr char kBadMarker[] = "BAD";  // in invoice_xml: the invoice is rejected
  static constexpr char kBadMessage[] = "invoice: Podmiot1/DaneIdentyfikacyjne/NIP is missing";

  // The links for an invoice: they depend on its bytes, so that results
  // cannot be mixed up unnoticed.
  static std::string KodILink(const std::string& invoice_xml);
  static std::string KodIILink(const std::string& invoice_xml);
  // The canned images: binary PNG bytes (with NUL and 0xFF) and SVG text.
  static std::string KodIPng();
  static std::string KodIIPng();
  static std::string KodISvg();
  static std::string KodIISvg();

  // Every request, unary and streamed, in arrival order.
  std::vector<::ksef::hsm::v1::SignOfflineInvoiceRequest> requests();
  int unary_calls();
  int stream_calls();

  // "keys/missing" is NOT_FOUND; an invoice containing kBadMarker is
  // INVALID_ARGUMENT (in the stream: an error result, and the stream goes on).
  // With a subject instead of a name, the codes name "keys/by-subject".
  grpc::Status SignOfflineInvoice(grpc::ServerContext*,
                                  const ::ksef::hsm::v1::SignOfflineInvoiceRequest* request,
                                  ::ksef::hsm::v1::OfflineInvoiceCodes* response) override;
  grpc::Status SignOfflineInvoices(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<::ksef::hsm::v1::OfflineInvoiceResult,
                               ::ksef::hsm::v1::SignOfflineInvoiceRequest>* stream) override;

 private:
  // The answer to one request; records it. Caller must not hold mu_.
  grpc::Status Sign(const ::ksef::hsm::v1::SignOfflineInvoiceRequest& request,
                    ::ksef::hsm::v1::OfflineInvoiceCodes* codes) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  std::vector<::ksef::hsm::v1::SignOfflineInvoiceRequest> requests_ ABSL_GUARDED_BY(mu_);
  int unary_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int stream_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ksef::client::testing

#endif  // KSEF_CLIENT_TESTING_FAKE_OFFLINE_SERVICE_H_
