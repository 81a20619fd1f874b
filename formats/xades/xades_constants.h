// Namespaces, algorithm URIs and ids of the KSeF XAdES signature
// (ksef.md 2.5-2.6).
#ifndef KSEF_FORMATS_XADES_XADES_CONSTANTS_H_
#define KSEF_FORMATS_XADES_XADES_CONSTANTS_H_

#include <cstddef>

namespace ksef::xades {

// Largest document the XAdES code parses (xml::ParseXmlStrict's limit); an
// AuthTokenRequest with its signature is a few KiB.
inline constexpr size_t kMaxXmlBytes = 1 << 20;

inline constexpr char kDsigNs[] = "http://www.w3.org/2000/09/xmldsig#";
inline constexpr char kXadesNs[] = "http://uri.etsi.org/01903/v1.3.2#";

inline constexpr char kC14nInclusiveUri[] = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
inline constexpr char kC14nExclusiveUri[] = "http://www.w3.org/2001/10/xml-exc-c14n#";
inline constexpr char kEnvelopedSignatureUri[] =
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
inline constexpr char kSha256Uri[] = "http://www.w3.org/2001/04/xmlenc#sha256";
inline constexpr char kEcdsaSha256Uri[] = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
inline constexpr char kRsaSha256Uri[] = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
inline constexpr char kSignedPropertiesType[] = "http://uri.etsi.org/01903#SignedProperties";

inline constexpr char kSignatureId[] = "Signature";
inline constexpr char kSignedPropertiesId[] = "SignedProperties";

}  // namespace ksef::xades

#endif  // KSEF_FORMATS_XADES_XADES_CONSTANTS_H_
