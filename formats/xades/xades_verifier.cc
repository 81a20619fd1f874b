#include "formats/xades/xades_verifier.h"

#include <libxml/tree.h>

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"
#include "crypto/software_signer.h"
#include "formats/cert/certificate_info.h"
#include "formats/xades/auth_token_request.h"
#include "formats/xades/xades_constants.h"
#include "xml/c14n.h"
#include "xml/document.h"

namespace ksef::xades {

using xml::XmlDocPtr;
using xml::ParseXmlStrict;
using xml::Canonicalize;
using xml::C14nMethod;
using xml::FirstElementChild;
using xml::NextElementSibling;
using xml::LastElementChild;
using xml::IsElement;
using xml::FindChild;
namespace {

absl::Status Fail(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("signature: ", what));
}

std::string TextOf(const xmlNode* node) {
  xmlChar* content = xmlNodeGetContent(node);
  std::string out = content != nullptr ? reinterpret_cast<const char*>(content) : "";
  xmlFree(content);
  return out;
}

std::optional<std::string> AttrOf(const xmlNode* node, const char* name) {
  xmlChar* value = xmlGetNoNsProp(node, reinterpret_cast<const xmlChar*>(name));
  if (value == nullptr) return std::nullopt;
  std::string out = reinterpret_cast<const char*>(value);
  xmlFree(value);
  return out;
}

bool HasAttr(const xmlNode* node, const char* name, absl::string_view value) {
  std::optional<std::string> v = AttrOf(node, name);
  return v.has_value() && *v == value;
}

// Base64 element content; XMLDSig allows line breaks inside.
std::optional<std::string> Base64Of(const xmlNode* node) {
  std::string text;
  for (char c : TextOf(node)) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') text.push_back(c);
  }
  return Base64Decode(text);
}

std::vector<xmlNode*> ElementChildren(xmlNode* node) {
  std::vector<xmlNode*> out;
  for (xmlNode* c = FirstElementChild(node); c != nullptr; c = NextElementSibling(c)) {
    out.push_back(c);
  }
  return out;
}

void CountSignatures(const xmlNode* node, int* count) {
  for (; node != nullptr; node = node->next) {
    if (IsElement(node, kDsigNs, "Signature")) ++*count;
    CountSignatures(node->children, count);
  }
}

void FindById(xmlNode* node, absl::string_view id, std::vector<xmlNode*>* found) {
  for (; node != nullptr; node = node->next) {
    if (node->type == XML_ELEMENT_NODE && HasAttr(node, "Id", id)) found->push_back(node);
    FindById(node->children, id, found);
  }
}

// Checks a Reference's Transforms and DigestMethod; returns its DigestValue.
absl::StatusOr<std::string> CheckReference(xmlNode* reference,
                                           const std::vector<absl::string_view>& transforms) {
  std::vector<xmlNode*> parts = ElementChildren(reference);
  if (parts.size() != 3 || !IsElement(parts[0], kDsigNs, "Transforms") ||
      !IsElement(parts[1], kDsigNs, "DigestMethod") ||
      !IsElement(parts[2], kDsigNs, "DigestValue")) {
    return Fail("a Reference must hold Transforms, DigestMethod, DigestValue");
  }
  std::vector<xmlNode*> t = ElementChildren(parts[0]);
  if (t.size() != transforms.size()) return Fail("unexpected Reference transforms");
  for (size_t i = 0; i < t.size(); ++i) {
    if (!IsElement(t[i], kDsigNs, "Transform") || !HasAttr(t[i], "Algorithm", transforms[i])) {
      return Fail("unexpected Reference transforms");
    }
  }
  if (!HasAttr(parts[1], "Algorithm", kSha256Uri)) return Fail("a Reference must use SHA-256");
  std::optional<std::string> digest = Base64Of(parts[2]);
  if (!digest) return Fail("a DigestValue is not Base64");
  return *digest;
}

}  // namespace

absl::StatusOr<VerifiedSignature> VerifySignedAuthTokenRequest(absl::string_view xml) {
  KSEF_ASSIGN_OR_RETURN(XmlDocPtr doc, ParseXmlStrict(xml, "document", kMaxXmlBytes));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!IsElement(root, AuthTokenNamespace(AuthSchemaVersion::kV2_0), "AuthTokenRequest") &&
      !IsElement(root, AuthTokenNamespace(AuthSchemaVersion::kV2_1), "AuthTokenRequest")) {
    return Fail("the root is not an auth/token 2.0 or 2.1 AuthTokenRequest");
  }
  xmlNode* signature = LastElementChild(root);
  if (!IsElement(signature, kDsigNs, "Signature")) {
    return Fail("the last element of AuthTokenRequest must be the Signature");
  }
  int signatures = 0;
  CountSignatures(root, &signatures);
  if (signatures != 1) return Fail("the document must hold exactly one Signature");

  std::vector<xmlNode*> parts = ElementChildren(signature);
  if (parts.size() != 4 || !IsElement(parts[0], kDsigNs, "SignedInfo") ||
      !IsElement(parts[1], kDsigNs, "SignatureValue") || !IsElement(parts[2], kDsigNs, "KeyInfo") ||
      !IsElement(parts[3], kDsigNs, "Object")) {
    return Fail("Signature must hold SignedInfo, SignatureValue, KeyInfo, Object");
  }
  xmlNode* signed_info = parts[0];
  std::vector<xmlNode*> si = ElementChildren(signed_info);
  if (si.size() != 4 || !IsElement(si[0], kDsigNs, "CanonicalizationMethod") ||
      !IsElement(si[1], kDsigNs, "SignatureMethod") || !IsElement(si[2], kDsigNs, "Reference") ||
      !IsElement(si[3], kDsigNs, "Reference")) {
    return Fail("SignedInfo must hold the canonicalization, the method and two References");
  }
  C14nMethod si_c14n;
  if (HasAttr(si[0], "Algorithm", kC14nExclusiveUri)) {
    si_c14n = C14nMethod::kExclusive;
  } else if (HasAttr(si[0], "Algorithm", kC14nInclusiveUri)) {
    si_c14n = C14nMethod::kInclusive;
  } else {
    return Fail("unsupported CanonicalizationMethod");
  }

  // KeyInfo certificate and the SigningCertificate that must describe it.
  xmlNode* cert_node =
      FindChild(FindChild(parts[2], kDsigNs, "X509Data"), kDsigNs, "X509Certificate");
  std::optional<std::string> cert_der = cert_node ? Base64Of(cert_node) : std::nullopt;
  if (!cert_der) return Fail("KeyInfo/X509Data/X509Certificate is missing or not Base64");
  absl::StatusOr<cert::CertificateInfo> cert = cert::ParseCertificateDer(*cert_der);
  if (!cert.ok()) return Fail(cert.status().message());

  crypto::SignatureScheme scheme;
  if (HasAttr(si[1], "Algorithm", kEcdsaSha256Uri)) {
    scheme = crypto::SignatureScheme::kEcdsaSha256;
  } else if (HasAttr(si[1], "Algorithm", kRsaSha256Uri)) {
    scheme = crypto::SignatureScheme::kRsaPkcs1Sha256;
  } else {
    return Fail("unsupported SignatureMethod");
  }

  if (!HasAttr(si[2], "URI", "") || AttrOf(si[2], "Type").has_value()) {
    return Fail("the first Reference must be URI=\"\"");
  }
  KSEF_ASSIGN_OR_RETURN(std::string document_digest,
                        CheckReference(si[2], {kEnvelopedSignatureUri, kC14nExclusiveUri}));
  std::optional<std::string> uri = AttrOf(si[3], "URI");
  if (!uri || uri->size() < 2 || (*uri)[0] != '#' ||
      !HasAttr(si[3], "Type", kSignedPropertiesType)) {
    return Fail("the second Reference must point at the SignedProperties");
  }
  KSEF_ASSIGN_OR_RETURN(std::string properties_digest, CheckReference(si[3], {kC14nExclusiveUri}));

  std::vector<xmlNode*> targets;
  FindById(root, absl::string_view(*uri).substr(1), &targets);
  xmlNode* qualifying = FindChild(parts[3], kXadesNs, "QualifyingProperties");
  xmlNode* properties = FindChild(qualifying, kXadesNs, "SignedProperties");
  if (targets.size() != 1 || targets[0] != properties) {
    return Fail("the SignedProperties Reference must resolve to Object's SignedProperties");
  }
  xmlNode* ssp = FindChild(properties, kXadesNs, "SignedSignatureProperties");
  xmlNode* time = FindChild(ssp, kXadesNs, "SigningTime");
  xmlNode* cert_ref = FindChild(FindChild(ssp, kXadesNs, "SigningCertificate"), kXadesNs, "Cert");
  xmlNode* cert_digest = FindChild(cert_ref, kXadesNs, "CertDigest");
  xmlNode* issuer_serial = FindChild(cert_ref, kXadesNs, "IssuerSerial");
  if (time == nullptr || cert_digest == nullptr || issuer_serial == nullptr) {
    return Fail("SignedProperties must hold SigningTime and SigningCertificate/Cert");
  }
  if (!HasAttr(FindChild(cert_digest, kDsigNs, "DigestMethod"), "Algorithm", kSha256Uri) ||
      Base64Of(FindChild(cert_digest, kDsigNs, "DigestValue")) != crypto::Sha256(*cert_der)) {
    return Fail("CertDigest is not the SHA-256 of the KeyInfo certificate");
  }
  if (TextOf(FindChild(issuer_serial, kDsigNs, "X509SerialNumber")) != cert->serial_decimal) {
    return Fail("X509SerialNumber is not the certificate's decimal serial");
  }
  if (TextOf(FindChild(issuer_serial, kDsigNs, "X509IssuerName")) != cert->issuer) {
    return Fail("X509IssuerName is not the certificate's issuer");
  }

  // The cryptography, recomputed with libxml2 on this tree.
  KSEF_ASSIGN_OR_RETURN(std::string doc_c14n,
                        Canonicalize(doc.get(), nullptr, signature, C14nMethod::kExclusive));
  if (crypto::Sha256(doc_c14n) != document_digest) {
    return Fail("the document digest does not match");
  }
  KSEF_ASSIGN_OR_RETURN(std::string props_c14n,
                        Canonicalize(doc.get(), properties, nullptr, C14nMethod::kExclusive));
  if (crypto::Sha256(props_c14n) != properties_digest) {
    return Fail("the SignedProperties digest does not match");
  }
  KSEF_ASSIGN_OR_RETURN(std::string si_bytes,
                        Canonicalize(doc.get(), signed_info, nullptr, si_c14n));
  VerifiedSignature out;
  out.signed_info_sha256 = crypto::Sha256(si_bytes);
  std::optional<std::string> value = Base64Of(parts[1]);
  if (!value) return Fail("SignatureValue is not Base64");
  if (scheme == crypto::SignatureScheme::kEcdsaSha256 && value->size() != 64) {
    return Fail("an ECDSA SignatureValue must be raw r||s (64 bytes)");
  }
  absl::Status verified =
      crypto::VerifyDigestSignature(cert->public_key_der, scheme, out.signed_info_sha256, *value);
  if (!verified.ok())
    return Fail(absl::StrCat("SignatureValue does not verify: ", verified.message()));
  out.certificate_der = std::move(*cert_der);
  out.signing_time_text = TextOf(time);
  return out;
}

}  // namespace ksef::xades
