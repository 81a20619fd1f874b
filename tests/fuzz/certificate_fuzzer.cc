// libFuzzer target: the certificate import path of service/enrollment.cc,
// ksef::cert::DecodeCertificateInput (DER, PEM, Base64, the KSeF
// /certificates/retrieve JSON) followed by ParseCertificateDer.
//
// Input: the certificate input, optionally followed by "\nserial=" and the
// serial_hex argument (the last such marker wins), as ImportCertificate
// takes both from the caller.
// Invariants: every refusal is INVALID_ARGUMENT; a parsed certificate keeps
// its DER, has a 64-digit fingerprint, and its PEM decodes back to the same
// DER (also through the raw DER path).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "formats/cert/certificate_info.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::string_view serial_hex;
  constexpr absl::string_view kSerialMarker = "\nserial=";
  if (const size_t marker = input.rfind(kSerialMarker); marker != absl::string_view::npos) {
    serial_hex = input.substr(marker + kSerialMarker.size());
    input = input.substr(0, marker);
  }

  absl::StatusOr<std::string> der = ksef::cert::DecodeCertificateInput(input, serial_hex);
  if (!der.ok()) {
    FUZZ_CHECK(der.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  absl::StatusOr<ksef::cert::CertificateInfo> info = ksef::cert::ParseCertificateDer(*der);
  if (!info.ok()) {
    FUZZ_CHECK(info.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(info->der == *der);
  FUZZ_CHECK(info->sha256_fingerprint.size() == 64);
  const std::string pem = ksef::cert::CertificateToPem(*der);
  absl::StatusOr<std::string> from_pem = ksef::cert::DecodeCertificateInput(pem);
  FUZZ_CHECK(from_pem.ok());
  FUZZ_CHECK(*from_pem == *der);
  absl::StatusOr<std::string> from_der = ksef::cert::DecodeCertificateInput(*der);
  FUZZ_CHECK(from_der.ok());
  FUZZ_CHECK(*from_der == *der);
  return 0;
}
