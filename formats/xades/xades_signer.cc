#include "formats/xades/xades_signer.h"

#include <libxml/tree.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"
#include "formats/xades/xades_constants.h"
#include "xml/c14n.h"
#include "xml/document.h"
#include "xml/text.h"

namespace ksef::xades {

using xml::XmlDocPtr;
using xml::ParseXmlStrict;
using xml::Canonicalize;
using xml::C14nMethod;
using xml::NextElementSibling;
using xml::LastElementChild;
using xml::IsElement;
using xml::FindChild;
using xml::EscapeXmlText;
namespace {

constexpr absl::string_view kWhitespace = " \t\r\n";

// Everything the Signature element carries; Base64 values may be empty
// (the first pass only reserves their places).
struct SignatureFields {
  const char* c14n_uri = kC14nExclusiveUri;
  const char* method_uri = kEcdsaSha256Uri;
  std::string document_digest;
  std::string properties_digest;
  std::string signature_value;
  std::string signing_time;
  const XadesCertificate* certificate = nullptr;
};

// The Signature element exactly as vectors.md V4 writes it: default
// xmldsig namespace, empty elements self-closed, Reference attributes in
// .NET's order (canonical forms sort them anyway).
std::string SignatureXml(const SignatureFields& f) {
  const XadesCertificate& c = *f.certificate;
  return absl::StrCat(
      "<Signature xmlns=\"", kDsigNs, "\" Id=\"", kSignatureId, "\"><SignedInfo>",
      "<CanonicalizationMethod Algorithm=\"", f.c14n_uri, "\"/>", "<SignatureMethod Algorithm=\"",
      f.method_uri, "\"/>", "<Reference URI=\"\"><Transforms><Transform Algorithm=\"",
      kEnvelopedSignatureUri, "\"/><Transform Algorithm=\"", kC14nExclusiveUri, "\"/></Transforms>",
      "<DigestMethod Algorithm=\"", kSha256Uri, "\"/><DigestValue>", f.document_digest,
      "</DigestValue></Reference>", "<Reference URI=\"#", kSignedPropertiesId, "\" Type=\"",
      kSignedPropertiesType, "\">", "<Transforms><Transform Algorithm=\"", kC14nExclusiveUri,
      "\"/></Transforms>", "<DigestMethod Algorithm=\"", kSha256Uri, "\"/><DigestValue>",
      f.properties_digest, "</DigestValue></Reference></SignedInfo>", "<SignatureValue>",
      f.signature_value, "</SignatureValue>", "<KeyInfo><X509Data><X509Certificate>", c.der_base64,
      "</X509Certificate></X509Data></KeyInfo>",
      "<Object><xades:QualifyingProperties xmlns:xades=\"", kXadesNs, "\" xmlns=\"", kDsigNs,
      "\" Target=\"#", kSignatureId, "\"><xades:SignedProperties Id=\"", kSignedPropertiesId,
      "\"><xades:SignedSignatureProperties><xades:SigningTime>", f.signing_time,
      "</xades:SigningTime><xades:SigningCertificate><xades:Cert><xades:CertDigest>",
      "<DigestMethod Algorithm=\"", kSha256Uri, "\"/><DigestValue>", c.digest_base64,
      "</DigestValue></xades:CertDigest><xades:IssuerSerial><X509IssuerName>",
      EscapeXmlText(c.issuer_name), "</X509IssuerName><X509SerialNumber>",
      EscapeXmlText(c.serial_decimal),
      "</X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate>",
      "</xades:SignedSignatureProperties></xades:SignedProperties>",
      "</xades:QualifyingProperties></Object></Signature>");
}

struct RootEndTag {
  size_t offset;      // where "</name>" starts: the Signature goes here
  std::string qname;  // the root's qualified name as written
};

// The root's end tag must be the last markup (only whitespace after it).
// A trailing comment or PI ends in "-->"/"?>" and so never looks like an
// end tag here.
absl::StatusOr<RootEndTag> FindRootEndTag(absl::string_view xml) {
  size_t gt = xml.find_last_not_of(kWhitespace);
  size_t open = gt == absl::string_view::npos ? gt : xml.rfind("</", gt);
  if (gt == absl::string_view::npos || xml[gt] != '>' || open == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "document: must end with the root's end tag (only whitespace may follow)");
  }
  absl::string_view inside = xml.substr(open + 2, gt - open - 2);
  size_t name_end = inside.find_first_of(kWhitespace);
  absl::string_view name = inside.substr(0, name_end);
  bool ok = !name.empty() && name.find_first_of("<>/&\"'=") == absl::string_view::npos &&
            (name_end == absl::string_view::npos ||
             inside.find_first_not_of(kWhitespace, name_end) == absl::string_view::npos);
  if (!ok) {
    return absl::InvalidArgumentError(
        "document: must end with the root's end tag (only whitespace may follow)");
  }
  return RootEndTag{open, std::string(name)};
}

std::string QualifiedName(const xmlNode* node) {
  std::string name(reinterpret_cast<const char*>(node->name));
  if (node->ns != nullptr && node->ns->prefix != nullptr) {
    return absl::StrCat(reinterpret_cast<const char*>(node->ns->prefix), ":", name);
  }
  return name;
}

// The document we were given must not bring its own signature parts or
// ids: KSeF takes exactly one signature (9103), and a second Id="..."
// would make our #SignedProperties reference ambiguous.
absl::Status CheckNoSignatureParts(const xmlNode* node, const xmlNode* ours) {
  for (; node != nullptr; node = node->next) {
    if (node == ours || node->type != XML_ELEMENT_NODE) continue;
    if (node->ns != nullptr &&
        absl::string_view(reinterpret_cast<const char*>(node->ns->href)) == kDsigNs) {
      return absl::InvalidArgumentError("document: already contains an XML signature element");
    }
    for (const xmlAttr* a = node->properties; a != nullptr; a = a->next) {
      if (absl::string_view(reinterpret_cast<const char*>(a->name)) == "Id") {
        return absl::InvalidArgumentError("document: must not carry Id attributes");
      }
    }
    KSEF_RETURN_IF_ERROR(CheckNoSignatureParts(node->children, ours));
  }
  return absl::OkStatus();
}

// The parsed parts of the spliced document that the digests need.
struct SignatureNodes {
  xmlNode* signature = nullptr;
  xmlNode* signed_info = nullptr;
  xmlNode* document_digest = nullptr;    // Reference URI="" / DigestValue
  xmlNode* properties_digest = nullptr;  // Reference #SignedProperties / DigestValue
  xmlNode* signed_properties = nullptr;
};

absl::StatusOr<SignatureNodes> LocateSignature(xmlDoc* doc, const std::string& end_tag_name) {
  xmlNode* root = xmlDocGetRootElement(doc);
  if (!IsElement(root, AuthTokenNamespace(AuthSchemaVersion::kV2_0), "AuthTokenRequest") &&
      !IsElement(root, AuthTokenNamespace(AuthSchemaVersion::kV2_1), "AuthTokenRequest")) {
    return absl::InvalidArgumentError(
        "document: the root must be AuthTokenRequest in namespace "
        "http://ksef.mf.gov.pl/auth/token/2.0 or /2.1");
  }
  SignatureNodes n;
  n.signature = LastElementChild(root);
  if (QualifiedName(root) != end_tag_name || !IsElement(n.signature, kDsigNs, "Signature")) {
    return absl::InvalidArgumentError("document: the root's end tag was not where expected");
  }
  KSEF_RETURN_IF_ERROR(CheckNoSignatureParts(root, n.signature));
  n.signed_info = FindChild(n.signature, kDsigNs, "SignedInfo");
  xmlNode* ref1 = FindChild(n.signed_info, kDsigNs, "Reference");
  xmlNode* ref2 = NextElementSibling(ref1);
  n.document_digest = FindChild(ref1, kDsigNs, "DigestValue");
  n.properties_digest = FindChild(ref2, kDsigNs, "DigestValue");
  n.signed_properties = FindChild(
      FindChild(FindChild(n.signature, kDsigNs, "Object"), kXadesNs, "QualifyingProperties"),
      kXadesNs, "SignedProperties");
  if (n.document_digest == nullptr || n.properties_digest == nullptr ||
      n.signed_properties == nullptr) {
    return absl::InternalError("xades: the Signature template did not parse as expected");
  }
  return n;
}

void SetText(xmlNode* element, const std::string& text) {
  xmlNodeAddContentLen(element, reinterpret_cast<const xmlChar*>(text.data()),
                       static_cast<int>(text.size()));
}

absl::Time Truncate100ns(absl::Time t) {
  return absl::UnixEpoch() + absl::Floor(t - absl::UnixEpoch(), absl::Nanoseconds(100));
}

}  // namespace

std::string FormatSigningTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E7S+00:00", time, absl::UTCTimeZone());
}

absl::StatusOr<SignedAuthTokenRequest> SignAuthTokenRequestXml(absl::string_view unsigned_xml,
                                                               const XadesCertificate& certificate,
                                                               const crypto::Signer& signer,
                                                               const XadesOptions& options) {
  if (certificate.public_key_der != signer.public_key_der()) {
    return absl::InvalidArgumentError(
        "certificate: its public key is not the signing key's public key");
  }
  const bool ec = signer.algorithm() == crypto::KeyAlgorithm::kEcP256;
  const crypto::SignatureScheme scheme =
      ec ? crypto::SignatureScheme::kEcdsaSha256 : crypto::SignatureScheme::kRsaPkcs1Sha256;
  const bool exclusive = options.canonicalization == SignedInfoCanonicalization::kExclusive;

  SignedAuthTokenRequest out;
  out.unsigned_sha256 = crypto::Sha256(unsigned_xml);
  out.signing_time = Truncate100ns(options.signing_time.value_or(absl::Now() - absl::Minutes(1)));
  out.signing_time_text = FormatSigningTime(out.signing_time);
  out.certificate_serial_decimal = certificate.serial_decimal;

  SignatureFields fields;
  fields.c14n_uri = exclusive ? kC14nExclusiveUri : kC14nInclusiveUri;
  fields.method_uri = ec ? kEcdsaSha256Uri : kRsaSha256Uri;
  fields.signing_time = out.signing_time_text;
  fields.certificate = &certificate;

  // Pass 1: splice the Signature with empty digest and signature values,
  // parse the result the way a verifier will, and let libxml2 compute every
  // canonical form on that tree.
  KSEF_ASSIGN_OR_RETURN(RootEndTag end_tag, FindRootEndTag(unsigned_xml));
  absl::string_view head = unsigned_xml.substr(0, end_tag.offset);
  absl::string_view tail = unsigned_xml.substr(end_tag.offset);
  KSEF_ASSIGN_OR_RETURN(
      XmlDocPtr doc,
      ParseXmlStrict(absl::StrCat(head, SignatureXml(fields), tail), "document", kMaxXmlBytes));
  KSEF_ASSIGN_OR_RETURN(SignatureNodes nodes, LocateSignature(doc.get(), end_tag.qname));

  KSEF_ASSIGN_OR_RETURN(std::string document_c14n,
                        Canonicalize(doc.get(), nullptr, nodes.signature, C14nMethod::kExclusive));
  fields.document_digest = Base64Encode(crypto::Sha256(document_c14n));
  SetText(nodes.document_digest, fields.document_digest);

  KSEF_ASSIGN_OR_RETURN(
      std::string properties_c14n,
      Canonicalize(doc.get(), nodes.signed_properties, nullptr, C14nMethod::kExclusive));
  fields.properties_digest = Base64Encode(crypto::Sha256(properties_c14n));
  SetText(nodes.properties_digest, fields.properties_digest);

  KSEF_ASSIGN_OR_RETURN(std::string signed_info_c14n,
                        Canonicalize(doc.get(), nodes.signed_info, nullptr,
                                     exclusive ? C14nMethod::kExclusive : C14nMethod::kInclusive));
  out.signed_info_sha256 = crypto::Sha256(signed_info_c14n);
  KSEF_ASSIGN_OR_RETURN(out.signature_value, signer.SignDigest(scheme, out.signed_info_sha256));
  if (ec ? out.signature_value.size() != 64 : out.signature_value.empty()) {
    return absl::InternalError(absl::StrCat("xades: the signer returned ",
                                            out.signature_value.size(), " signature bytes"));
  }
  fields.signature_value = Base64Encode(out.signature_value);

  // Pass 2: the same bytes with the values filled in. Base64 needs no
  // escaping, so this text parses to exactly the tree that was digested.
  out.xml = absl::StrCat(head, SignatureXml(fields), tail);
  return out;
}

absl::StatusOr<SignedAuthTokenRequest> SignAuthTokenRequest(const AuthTokenRequest& request,
                                                            const XadesCertificate& certificate,
                                                            const crypto::Signer& signer,
                                                            const XadesOptions& options) {
  KSEF_ASSIGN_OR_RETURN(std::string xml, SerializeAuthTokenRequest(request));
  return SignAuthTokenRequestXml(xml, certificate, signer, options);
}

}  // namespace ksef::xades
