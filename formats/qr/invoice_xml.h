// The KOD I/KOD II inputs read from an FA(3) invoice file.
//
// The hash is SHA-256 over the exact bytes given (the file as sent to KSeF,
// no canonicalization, ksef.md 3.2). The seller NIP comes from
// Faktura/Podmiot1/DaneIdentyfikacyjne/NIP and the issue date from
// Faktura/Fa/P_1, in the FA(3) namespace kFa3Namespace.
//
// The parser has no network access, loads no DTD, substitutes no entities and
// refuses any DOCTYPE. Pure; thread-safe.
#ifndef KSEF_FORMATS_QR_INVOICE_XML_H_
#define KSEF_FORMATS_QR_INVOICE_XML_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "formats/qr/links.h"

namespace ksef::qr {

inline constexpr absl::string_view kFa3Namespace = "http://crd.gov.pl/wzor/2025/06/25/13775/";

// KSeF accepts invoices of up to 1 MB, or 3 MB with attachments (read here
// as MiB, the lenient reading); anything bigger is refused before parsing.
inline constexpr size_t kMaxInvoiceBytes = 3 << 20;

// INVALID_ARGUMENT ("invoice: ...") for malformed XML, a DOCTYPE, a root
// that is not an FA(3) Faktura, a missing element (the message names its
// path) or a value that fails ValidateSellerNip / ParseIssueDate.
absl::StatusOr<InvoiceRef> InvoiceRefFromXml(absl::string_view xml_bytes);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_INVOICE_XML_H_
