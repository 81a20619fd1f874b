// XAdES-BES enveloped signature over a KSeF AuthTokenRequest, in the layout
// of the official C# client (ksef.md 2.5-2.8, vectors.md V4):
//
//   <Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="Signature">
//     SignedInfo: CanonicalizationMethod (exclusive C14N by default),
//       SignatureMethod ecdsa-sha256 | rsa-sha256,
//       Reference URI="" (enveloped-signature, exc-c14n, SHA-256),
//       Reference URI="#SignedProperties" (exc-c14n, SHA-256)
//     SignatureValue: ECDSA raw r||s (never DER) | RSA PKCS#1 v1.5
//     KeyInfo/X509Data/X509Certificate
//     Object/xades:QualifyingProperties/xades:SignedProperties:
//       SigningTime, SigningCertificate (CertDigest SHA-256, IssuerSerial)
//
// appended as the last child of the root, right before its end tag (after
// the whitespace text node there). All canonical forms are computed by
// libxml2 on the parsed signed document; the output bytes are the input
// bytes with the Signature element spliced in.
//
// Pure functions; thread-safe if the Signer is (crypto::Signer is).
#ifndef KSEF_FORMATS_XADES_XADES_SIGNER_H_
#define KSEF_FORMATS_XADES_XADES_SIGNER_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/signer.h"
#include "formats/xades/auth_token_request.h"
#include "formats/xades/xades_certificate.h"

namespace ksef::xades {

enum class SignedInfoCanonicalization {
  // http://www.w3.org/2001/10/xml-exc-c14n# - ksef.md 2.7's recommendation:
  // the signed bytes do not depend on namespaces declared on the root.
  kExclusive,
  // http://www.w3.org/TR/2001/REC-xml-c14n-20010315 - what the C# client
  // does (and vectors.md V4 uses); the root's xmlns:xsi/xsd are signed too.
  kInclusive,
};

struct XadesOptions {
  SignedInfoCanonicalization canonicalization = SignedInfoCanonicalization::kExclusive;
  // nullopt: now minus one minute (the C# client's clock-skew buffer).
  // Written in .NET "O" form in UTC: 2026-01-15T10:00:00.0000000+00:00.
  std::optional<absl::Time> signing_time;
};

// The signed document and what an auditor records about it.
struct SignedAuthTokenRequest {
  std::string xml;                         // the signed document (UTF-8)
  std::string unsigned_sha256;             // SHA-256 (32 bytes) of the unsigned document
  absl::Time signing_time;                 // as written in SigningTime (100 ns resolution)
  std::string signing_time_text;           // the SigningTime text
  std::string certificate_serial_decimal;  // X509SerialNumber
  std::string signed_info_sha256;          // SHA-256 (32 bytes) of the canonical
                                           // SignedInfo: the digest the key signed
  std::string signature_value;             // raw signature bytes (r||s for ECDSA)
};

// Signs an unsigned AuthTokenRequest document (UTF-8 bytes).
// The root must be AuthTokenRequest in the auth/token 2.0 or 2.1 namespace,
// must not already contain an XMLDSig element or an Id attribute, and the
// document must not have a DOCTYPE (refused, as are malformed documents and
// anything but whitespace after the root): INVALID_ARGUMENT "document: ...".
// INVALID_ARGUMENT "certificate: ..." if `certificate` is not for the
// signer's key. The signer's status is returned as is (UNAVAILABLE etc.);
// INTERNAL if it returns a signature of the wrong shape or libxml2 fails.
absl::StatusOr<SignedAuthTokenRequest> SignAuthTokenRequestXml(absl::string_view unsigned_xml,
                                                               const XadesCertificate& certificate,
                                                               const crypto::Signer& signer,
                                                               const XadesOptions& options = {});

// Serializes `request` (SerializeAuthTokenRequest, so its INVALID_ARGUMENT
// for bad fields) and signs the result. The way the service signs: only
// documents it built itself from validated fields.
absl::StatusOr<SignedAuthTokenRequest> SignAuthTokenRequest(const AuthTokenRequest& request,
                                                            const XadesCertificate& certificate,
                                                            const crypto::Signer& signer,
                                                            const XadesOptions& options = {});

// .NET "O" format of a UTC time: 2026-01-15T10:00:00.0000000+00:00.
std::string FormatSigningTime(absl::Time time);

}  // namespace ksef::xades

#endif  // KSEF_FORMATS_XADES_XADES_SIGNER_H_
