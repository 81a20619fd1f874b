#include "formats/qr/links.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"

namespace ksef::qr {
namespace {

constexpr absl::string_view kScheme = "https://";

}  // namespace

std::string QrBaseUrl(Environment environment) {
  switch (environment) {
    case Environment::kTest:
      return "https://qr-test.ksef.mf.gov.pl";
    case Environment::kDemo:
      return "https://qr-demo.ksef.mf.gov.pl";
    case Environment::kProd:
      return "https://qr.ksef.mf.gov.pl";
  }
  return "";
}

absl::Status ValidateInvoiceRef(const InvoiceRef& invoice) {
  KSEF_RETURN_IF_ERROR(ValidateSellerNip(invoice.seller_nip, "invoice.seller_nip"));
  KSEF_RETURN_IF_ERROR(ValidateIssueDate(invoice.issue_date, "invoice.issue_date"));
  return ValidateInvoiceSha256(invoice.invoice_sha256, "invoice.invoice_sha256");
}

absl::StatusOr<std::string> BuildKodI(absl::string_view base_url, const InvoiceRef& invoice) {
  KSEF_RETURN_IF_ERROR(ValidateBaseUrl(base_url, "base_url"));
  KSEF_RETURN_IF_ERROR(ValidateInvoiceRef(invoice));
  return unchecked::KodILink(base_url, invoice.seller_nip, invoice.issue_date,
                             invoice.invoice_sha256);
}

absl::StatusOr<std::string> KodIISignedString(absl::string_view base_url, ContextType context_type,
                                              absl::string_view context_value,
                                              const InvoiceRef& invoice,
                                              absl::string_view certificate_serial_hex) {
  KSEF_RETURN_IF_ERROR(ValidateBaseUrl(base_url, "base_url"));
  KSEF_RETURN_IF_ERROR(ValidateContextValue(context_type, context_value, "context_value"));
  KSEF_RETURN_IF_ERROR(ValidateInvoiceRef(invoice));
  KSEF_RETURN_IF_ERROR(ValidateCertificateSerial(certificate_serial_hex, "certificate_serial"));
  // ksef.md 3.3: no scheme, no trailing '/', no signature segment; the docs'
  // example signature verifies over this form only (vectors.md V2).
  return absl::StrCat(base_url.substr(kScheme.size()), "/certificate/",
                      ContextTypeName(context_type), "/", context_value, "/", invoice.seller_nip,
                      "/", certificate_serial_hex, "/", Base64UrlEncode(invoice.invoice_sha256));
}

crypto::SignatureScheme KodIISignatureScheme(crypto::KeyAlgorithm algorithm) {
  return algorithm == crypto::KeyAlgorithm::kEcP256 ? crypto::SignatureScheme::kEcdsaSha256
                                                 : crypto::SignatureScheme::kRsaPssSha256;
}

absl::StatusOr<KodII> SignKodII(absl::string_view base_url, ContextType context_type,
                                absl::string_view context_value, const InvoiceRef& invoice,
                                absl::string_view certificate_serial_hex,
                                const crypto::Signer& signer) {
  KodII out;
  KSEF_ASSIGN_OR_RETURN(out.signed_string, KodIISignedString(base_url, context_type, context_value,
                                                             invoice, certificate_serial_hex));
  crypto::SignatureScheme scheme = KodIISignatureScheme(signer.algorithm());
  KSEF_ASSIGN_OR_RETURN(out.signature,
                        signer.SignDigest(scheme, crypto::Sha256(out.signed_string)));
  if (scheme == crypto::SignatureScheme::kEcdsaSha256 && out.signature.size() != 64) {
    return absl::InternalError(absl::StrCat("KOD II: the signer returned ", out.signature.size(),
                                            " bytes instead of a 64-byte r||s"));
  }
  out.link = unchecked::KodIILink(out.signed_string, out.signature);
  return out;
}

namespace unchecked {

std::string FormatLinkDate(absl::CivilDay day) {
  return absl::StrFormat("%02d-%02d-%04d", day.day(), day.month(), day.year());
}

std::string KodILink(absl::string_view base_url, absl::string_view seller_nip,
                     absl::CivilDay issue_date, absl::string_view invoice_sha256) {
  // ksef.md 3.2: NIP before the date, although the docs' prose lists the
  // date first; the official example and clients put the NIP first.
  return absl::StrCat(base_url, "/invoice/", seller_nip, "/", FormatLinkDate(issue_date), "/",
                      Base64UrlEncode(invoice_sha256));
}

std::string KodIILink(absl::string_view signed_string, absl::string_view signature) {
  return absl::StrCat(kScheme, signed_string, "/", Base64UrlEncode(signature));
}

}  // namespace unchecked

}  // namespace ksef::qr
