// CertificateInfo: what ksef-hsm needs to know about an X.509 certificate
// (KSeF-issued, local test CA or self-signed), read once from its DER.
// Pure functions; thread-safe.
#ifndef KSEF_FORMATS_CERT_CERTIFICATE_INFO_H_
#define KSEF_FORMATS_CERT_CERTIFICATE_INFO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ksef::cert {

// KSeF's certificateType (ksef.md 4.1); one type per certificate.
enum class CertificateType {
  kAuthentication,  // keyUsage digitalSignature
  kOffline,         // keyUsage nonRepudiation
};

// "Authentication" | "Offline", as KSeF's JSON writes them.
const char* CertificateTypeName(CertificateType type);

struct CertificateInfo {
  std::string der;
  std::string serial_hex;          // uppercase, minimal bytes ("01F20A5D352AE590")
  std::string serial_decimal;      // "140185933842146704" (XAdES IssuerSerial)
  std::string sha256_fingerprint;  // 64 uppercase hex over the DER (ksef.md 6)
  std::string subject;             // RFC 4514 string, UTF-8 kept readable
  std::string issuer;              // RFC 4514 string, UTF-8 kept readable
  std::string subject_name_der;    // the Name exactly as encoded in the certificate
  std::string issuer_name_der;
  absl::Time not_before;
  absl::Time not_after;
  std::string public_key_der;      // SubjectPublicKeyInfo
  bool has_key_usage = false;
  bool digital_signature = false;
  bool non_repudiation = false;
  std::string signature_algorithm;  // OpenSSL's long name, e.g. "ecdsa-with-SHA512"
};

// Parses one DER certificate (nothing may follow it). Tolerates what
// OpenSSL 3 tolerates, notably KSeF's ecdsa-with-SHA512 with an explicit
// NULL parameter. INVALID_ARGUMENT "certificate: ..." otherwise.
absl::StatusOr<CertificateInfo> ParseCertificateDer(absl::string_view der);

// A certificate as people and KSeF hand it over, to DER:
//   - DER bytes;
//   - PEM ("-----BEGIN CERTIFICATE-----", the first block);
//   - standard Base64 of the DER (whitespace and line breaks ignored);
//   - the JSON response of POST /certificates/retrieve
//     {"certificates":[{"certificate":"<b64>","certificateSerialNumber":..}..]}
//     or one element of it. With several certificates, `serial_hex` picks one
//     (case-insensitive); without it, more than one is INVALID_ARGUMENT.
// Only decodes; ParseCertificateDer checks the result.
absl::StatusOr<std::string> DecodeCertificateInput(absl::string_view input,
                                                   absl::string_view serial_hex = "");

// The checks before a certificate may live beside a key: its public key is
// `spki_der`, and its keyUsage fits `type` (Authentication: digitalSignature;
// Offline: nonRepudiation). INVALID_ARGUMENT whose message says which check
// failed ("public key ...", "... digitalSignature ...", "... nonRepudiation ...").
absl::Status CheckCertificateMatchesKey(const CertificateInfo& info, absl::string_view spki_der,
                                        CertificateType type);

// "-----BEGIN CERTIFICATE-----" PEM, 64-character lines, trailing newline.
std::string CertificateToPem(absl::string_view der);

}  // namespace ksef::cert

#endif  // KSEF_FORMATS_CERT_CERTIFICATE_INFO_H_
