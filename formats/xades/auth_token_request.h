// AuthTokenRequest: the document a KSeF XAdES authentication signs
// (ksef.md 2.3; schemat_auth_v2-0.xsd and schemat_auth_v2-1.xsd), built from
// validated fields and serialized byte-exactly the way the official C#
// client's XmlSerializer writes it (vectors.md V4).
// Pure functions; thread-safe.
#ifndef KSEF_FORMATS_XADES_AUTH_TOKEN_REQUEST_H_
#define KSEF_FORMATS_XADES_AUTH_TOKEN_REQUEST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ksef::xades {

// Both namespaces are accepted by POST /auth/xades-signature; 2.1 differs
// only in its IPv4 regexes. The official clients emit 2.0.
enum class AuthSchemaVersion { kV2_0, kV2_1 };

// "http://ksef.mf.gov.pl/auth/token/2.0" | ".../2.1".
const char* AuthTokenNamespace(AuthSchemaVersion version);

enum class SubjectIdentifierType {
  kCertificateSubject,      // "certificateSubject"
  kCertificateFingerprint,  // "certificateFingerprint"
};

const char* SubjectIdentifierTypeName(SubjectIdentifierType type);

// TContextIdentifier is an xsd:choice: exactly one member must be set.
struct ContextIdentifier {
  std::optional<std::string> nip;          // Nip, e.g. "5265877635"
  std::optional<std::string> internal_id;  // InternalId, "5265877635-12345"
  std::optional<std::string> nip_vat_ue;   // NipVatUe, "5265877635-ATU12345678"
  std::optional<std::string> peppol_id;    // PeppolId, "PPL123456"
};

// AuthorizationPolicy/AllowedIps. Written in XSD order (addresses, ranges,
// masks); at most 10 of each, and at least one entry in total.
struct AllowedIps {
  std::vector<std::string> ip4_addresses;  // "192.168.0.1"
  std::vector<std::string> ip4_ranges;     // "10.0.0.1-10.0.0.20"
  std::vector<std::string> ip4_masks;      // "10.1.0.0/16"
};

struct AuthTokenRequest {
  std::string challenge;  // from POST /auth/challenge
  ContextIdentifier context_identifier;
  SubjectIdentifierType subject_identifier_type = SubjectIdentifierType::kCertificateSubject;
  std::optional<AllowedIps> allowed_ips;  // nullopt: no AuthorizationPolicy element
  AuthSchemaVersion schema_version = AuthSchemaVersion::kV2_0;
};

// OK, or INVALID_ARGUMENT for the first bad field; the message starts with
// the field's name: "challenge", "context_identifier" (none or several set),
// "context_identifier.nip" | ".internal_id" | ".nip_vat_ue" | ".peppol_id",
// "allowed_ips" (empty), "allowed_ips.ip4_address" (more than 10),
// "allowed_ips.ip4_range[3]" (a bad entry), ...
absl::Status Validate(const AuthTokenRequest& request);

// Validates, then writes the unsigned document as UTF-8:
//   <?xml version="1.0" encoding="utf-8"?>
//   <AuthTokenRequest xmlns:xsi="..." xmlns:xsd="..." xmlns="<namespace>">
//     <Challenge>...</Challenge>
//     ...
//   </AuthTokenRequest>
// LF line ends, 2-space indent, no newline after the end tag. For the V4
// inputs the result equals vectors.md V4's unsigned document byte for byte.
// Errors: those of Validate.
absl::StatusOr<std::string> SerializeAuthTokenRequest(const AuthTokenRequest& request);

}  // namespace ksef::xades

#endif  // KSEF_FORMATS_XADES_AUTH_TOKEN_REQUEST_H_
