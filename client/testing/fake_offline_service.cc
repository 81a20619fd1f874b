#include "client/testing/fake_offline_service.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ksef::client::testing {

namespace v1 = ::ksef::hsm::v1;

namespace {

// FNV-1a of the invoice, in hex: stands in for its hash in the links.
std::string Digest(const std::string& data) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

}  // namespace

std::string FakeOfflineService::KodILink(const std::string& invoice_xml) {
  return absl::StrCat("https://qr-test.ksef.mf.gov.pl/invoice/5260250274/01-07-2025/",
                      Digest(invoice_xml));
}

std::string FakeOfflineService::KodIILink(const std::string& invoice_xml) {
  return absl::StrCat(
      "https://qr-test.ksef.mf.gov.pl/certificate/Nip/5260250274/5260250274/01F20A5D352AE590/",
      Digest(invoice_xml), "/SIG");
}

// Binary stand-ins with embedded NULs: the length comes from the array, so
// it cannot disagree with the literal.
std::string FakeOfflineService::KodIPng() {
  static constexpr char kPng[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR KOD I \xff";
  return std::string(kPng, sizeof(kPng) - 1);
}

std::string FakeOfflineService::KodIIPng() {
  static constexpr char kPng[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR KOD II \xfe";
  return std::string(kPng, sizeof(kPng) - 1);
}

std::string FakeOfflineService::KodISvg() {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>OFFLINE</text></svg>";
}

std::string FakeOfflineService::KodIISvg() {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>CERTYFIKAT</text></svg>";
}

std::vector<v1::SignOfflineInvoiceRequest> FakeOfflineService::requests() {
  absl::MutexLock lock(&mu_);
  return requests_;
}

int FakeOfflineService::unary_calls() {
  absl::MutexLock lock(&mu_);
  return unary_calls_;
}

int FakeOfflineService::stream_calls() {
  absl::MutexLock lock(&mu_);
  return stream_calls_;
}

grpc::Status FakeOfflineService::Sign(const v1::SignOfflineInvoiceRequest& request,
                                      v1::OfflineInvoiceCodes* codes) {
  {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
  }
  if (request.name() == "keys/missing") {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "key keys/missing not found");
  }
  if (absl::StrContains(request.invoice_xml(), kBadMarker)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, kBadMessage);
  }
  const std::string& xml = request.invoice_xml();
  codes->set_name(request.name().empty() ? "keys/by-subject" : request.name());
  codes->set_kod_i_link(KodILink(xml));
  codes->set_kod_ii_link(KodIILink(xml));
  codes->set_seller_nip("5260250274");
  codes->set_issue_date("2025-07-01");
  codes->set_invoice_hash(Digest(xml));
  codes->set_certificate_serial_number(kSerial);
  codes->set_kod_i_label(request.ksef_number().empty() ? "OFFLINE" : request.ksef_number());
  if (request.images()) {
    codes->set_kod_i_png(KodIPng());
    codes->set_kod_i_svg(KodISvg());
    codes->set_kod_ii_png(KodIIPng());
    codes->set_kod_ii_svg(KodIISvg());
  }
  return grpc::Status::OK;
}

grpc::Status FakeOfflineService::SignOfflineInvoice(grpc::ServerContext*,
                                                    const v1::SignOfflineInvoiceRequest* request,
                                                    v1::OfflineInvoiceCodes* response) {
  {
    absl::MutexLock lock(&mu_);
    ++unary_calls_;
  }
  return Sign(*request, response);
}

grpc::Status FakeOfflineService::SignOfflineInvoices(
    grpc::ServerContext*,
    grpc::ServerReaderWriter<v1::OfflineInvoiceResult, v1::SignOfflineInvoiceRequest>* stream) {
  {
    absl::MutexLock lock(&mu_);
    ++stream_calls_;
  }
  v1::SignOfflineInvoiceRequest request;
  for (int64_t index = 0; stream->Read(&request); ++index) {
    v1::OfflineInvoiceResult result;
    result.set_index(index);
    result.set_request_id(request.request_id());
    grpc::Status status = Sign(request, result.mutable_codes());
    if (!status.ok()) {
      result.clear_codes();
      result.set_error_code(status.error_code());
      result.set_error_message(status.error_message());
    }
    if (!stream->Write(result)) break;
  }
  return grpc::Status::OK;
}

}  // namespace ksef::client::testing
