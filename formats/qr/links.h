// KSeF QR verification links (ksef.md section 3):
//   KOD I  {base}/invoice/{sellerNIP}/{DD-MM-YYYY}/{hash b64url}
//   KOD II {base}/certificate/{ctxType}/{ctxValue}/{sellerNIP}/{certSerial}/
//          {hash b64url}/{signature b64url}
// KOD II's signature covers the link without "https://" and without the
// signature segment (KodIISignedString), exactly as in vectors.md V2/V3.
//
// The service builds these from validated fields only; it never signs a
// caller-supplied string. Every function validates all of its inputs and
// returns INVALID_ARGUMENT whose message starts with the field name
// ("base_url", "invoice.seller_nip", "invoice.issue_date",
// "invoice.invoice_sha256", "context_value", "certificate_serial").
// Pure functions apart from the Signer call; thread-safe.
#ifndef KSEF_FORMATS_QR_LINKS_H_
#define KSEF_FORMATS_QR_LINKS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "crypto/signer.h"
#include "formats/qr/fields.h"

namespace ksef::qr {

enum class Environment { kTest, kDemo, kProd };

// "https://qr-test.ksef.mf.gov.pl" | "https://qr-demo.ksef.mf.gov.pl" |
// "https://qr.ksef.mf.gov.pl" (ksef.md section 1). An explicit base URL may
// be used instead wherever a base_url is taken (see ValidateBaseUrl).
std::string QrBaseUrl(Environment environment);

// What identifies an invoice in both codes.
struct InvoiceRef {
  std::string seller_nip;      // Podmiot1 NIP, 10 digits
  absl::CivilDay issue_date;   // Fa/P_1
  std::string invoice_sha256;  // 32 raw bytes: SHA-256 of the exact invoice file
};

// Checks all three fields of `invoice`.
absl::Status ValidateInvoiceRef(const InvoiceRef& invoice);

// KOD I (not signed).
absl::StatusOr<std::string> BuildKodI(absl::string_view base_url, const InvoiceRef& invoice);

// The exact UTF-8 string a KOD II signature covers, e.g.
// "qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/
//  01F20A5D352AE590/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE".
absl::StatusOr<std::string> KodIISignedString(absl::string_view base_url, ContextType context_type,
                                              absl::string_view context_value,
                                              const InvoiceRef& invoice,
                                              absl::string_view certificate_serial_hex);

struct KodII {
  std::string link;           // "https://" + signed_string + "/" + b64url(signature)
  std::string signed_string;  // what was signed (see KodIISignedString)
  std::string signature;      // raw bytes: r||s (64) for EC, PSS (256) for RSA-2048
};

// Builds and signs a KOD II link: SHA-256 of the signed string, then
// kEcdsaSha256 (IEEE P1363 r||s, the form the docs recommend) for an EC key
// or kRsaPssSha256 (MGF1-SHA-256, salt 32) for an RSA key. Besides
// INVALID_ARGUMENT for the fields, returns what signer.SignDigest returns
// (UNAVAILABLE, FAILED_PRECONDITION, ...), and INTERNAL if an EC signer
// returns something other than 64 bytes.
absl::StatusOr<KodII> SignKodII(absl::string_view base_url, ContextType context_type,
                                absl::string_view context_value, const InvoiceRef& invoice,
                                absl::string_view certificate_serial_hex,
                                const crypto::Signer& signer);

// The signature scheme SignKodII uses for a key algorithm.
crypto::SignatureScheme KodIISignatureScheme(crypto::KeyAlgorithm algorithm);

// Link assembly without any validation, for verifying the official vectors
// (whose inputs need not pass our checks: vectors.md V1b) and for tools that
// re-create a link from its parts. Production code uses the functions above.
namespace unchecked {
// "DD-MM-YYYY".
std::string FormatLinkDate(absl::CivilDay day);
std::string KodILink(absl::string_view base_url, absl::string_view seller_nip,
                     absl::CivilDay issue_date, absl::string_view invoice_sha256);
// Appends "/" + b64url(signature) to "https://" + signed_string.
std::string KodIILink(absl::string_view signed_string, absl::string_view signature);
}  // namespace unchecked

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_LINKS_H_
