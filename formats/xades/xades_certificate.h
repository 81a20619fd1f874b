// XadesCertificate: the parts of the signing certificate that a KSeF XAdES
// signature carries (ksef.md 2.6, 2.8), computed once per key so signing
// does not re-parse or re-hash the certificate on every call.
// Immutable value; thread-safe to share.
#ifndef KSEF_FORMATS_XADES_XADES_CERTIFICATE_H_
#define KSEF_FORMATS_XADES_XADES_CERTIFICATE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "formats/cert/certificate_info.h"

namespace ksef::xades {

struct XadesCertificate {
  std::string der_base64;      // KeyInfo/X509Data/X509Certificate
  std::string digest_base64;   // xades:CertDigest: Base64(SHA-256(DER))
  std::string issuer_name;     // X509IssuerName: RFC 4514 string of the issuer DN
  std::string serial_decimal;  // X509SerialNumber: the serial as a decimal integer
  std::string public_key_der;  // SubjectPublicKeyInfo; must be the signer's key

  static XadesCertificate FromCertificate(const cert::CertificateInfo& info);
  // Parses the DER first (ParseCertificateDer); its INVALID_ARGUMENT otherwise.
  static absl::StatusOr<XadesCertificate> FromDer(absl::string_view der);
};

}  // namespace ksef::xades

#endif  // KSEF_FORMATS_XADES_XADES_CERTIFICATE_H_
