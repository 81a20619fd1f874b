// Validation and parsing of the fields that go into KSeF QR links
// (ksef.md 3.2, 3.3): QR base URL, invoice issue date, invoice hash,
// KSeF certificate serial and the KOD II context identifier; the KSeF number
// printed as the KOD I label is in ksef_number.h (included here).
//
// Every function returns INVALID_ARGUMENT on bad input; the message starts
// with the `field` given by the caller and says what to fix. Pure functions;
// thread-safe.
#ifndef KSEF_FORMATS_QR_FIELDS_H_
#define KSEF_FORMATS_QR_FIELDS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "formats/qr/ksef_number.h"  // IWYU pragma: export

namespace ksef::qr {

// KOD II context identifier types; the link carries the name exactly as
// ContextTypeName() spells it (case-sensitive, ksef.md 3.3).
enum class ContextType { kNip, kInternalId, kNipVatUe, kPeppolId };

// "Nip" | "InternalId" | "NipVatUe" | "PeppolId".
const char* ContextTypeName(ContextType type);
// The inverse of ContextTypeName (exact match).
absl::StatusOr<ContextType> ParseContextType(absl::string_view name, absl::string_view field);

// An explicit QR base URL: "https://" host [":" port] ["/" path], with no
// trailing slash, no query, fragment or user info. The host is lowercase
// letters, digits, '-' and '.' (the signed string is compared byte for byte,
// so one spelling only); the port is 1..65535; path segments are non-empty
// and use RFC 3986 unreserved characters only.
absl::Status ValidateBaseUrl(absl::string_view base_url, absl::string_view field);

// Seller NIP: 10 digits, the FA(3)/auth XSD pattern and the check digit.
absl::Status ValidateSellerNip(absl::string_view nip, absl::string_view field);

// A real calendar date with a four-digit year (1000..9999), as it must be to
// print "DD-MM-YYYY".
absl::Status ValidateIssueDate(absl::CivilDay day, absl::string_view field);

// Strict "YYYY-MM-DD" (the xsd:date form of FA(3) P_1, without a time zone);
// refuses dates that do not exist, e.g. 2026-02-30 or 2025-02-29.
absl::StatusOr<absl::CivilDay> ParseIssueDate(absl::string_view text, absl::string_view field);

// Exactly 32 bytes (a raw SHA-256).
absl::Status ValidateInvoiceSha256(absl::string_view sha256, absl::string_view field);

// The text form of a SHA-256 to its 32 raw bytes. Accepts 64 hex digits
// (either case), standard Base64 with padding (44 chars, as the KSeF REST
// API writes it) or Base64URL without padding (43 chars, as links write
// it). Anything else, including other lengths, is refused.
absl::StatusOr<std::string> ParseInvoiceSha256(absl::string_view text, absl::string_view field);

// A KSeF certificate serial: ^[0-9A-F]{16}$ (uppercase hex, 8 bytes).
absl::Status ValidateCertificateSerial(absl::string_view serial, absl::string_view field);

// The context identifier value for `type`, against the auth XSD types:
// kNip TNIP, kInternalId TIID (NIP-5 digits), kNipVatUe TNipVatUE,
// kPeppolId TPeppolId (see formats/auth_fields.h).
absl::Status ValidateContextValue(ContextType type, absl::string_view value,
                                  absl::string_view field);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_FIELDS_H_
