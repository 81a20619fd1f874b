// libFuzzer target: pkcs11::Pkcs11Uri::Parse (RFC 7512 URIs from the server
// config and from callers' key names).
//
// Invariants: a refusal is INVALID_ARGUMENT; a parsed URI formats to text
// that parses back to the same value and formats to the same text again.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pkcs11/pkcs11_uri.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ksef::pkcs11::Pkcs11Uri> uri = ksef::pkcs11::Pkcs11Uri::Parse(text);
  if (!uri.ok()) {
    FUZZ_CHECK(uri.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const std::string formatted = uri->ToString();
  absl::StatusOr<ksef::pkcs11::Pkcs11Uri> again = ksef::pkcs11::Pkcs11Uri::Parse(formatted);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *uri);
  FUZZ_CHECK(again->ToString() == formatted);
  return 0;
}
