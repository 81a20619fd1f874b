// libFuzzer target: ksef::qr::InvoiceRefFromXml (FA(3) invoice files handed
// in by callers for KOD I / KOD II).
//
// Invariants: a refusal is INVALID_ARGUMENT; an accepted invoice carries
// SHA-256 of exactly the input bytes and passes ValidateInvoiceRef.
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "formats/qr/invoice_xml.h"
#include "formats/qr/links.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view xml(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ksef::qr::InvoiceRef> invoice = ksef::qr::InvoiceRefFromXml(xml);
  if (!invoice.ok()) {
    FUZZ_CHECK(invoice.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(data, size, digest);
  FUZZ_CHECK(invoice->invoice_sha256 ==
             std::string(reinterpret_cast<const char*>(digest), sizeof(digest)));
  FUZZ_CHECK(ksef::qr::ValidateInvoiceRef(*invoice).ok());
  return 0;
}
