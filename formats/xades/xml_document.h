// libxml2 plumbing for the XAdES code: one-time library initialization, an
// RAII owner for documents, a hardened parser and C14N over a node set.
//
// libxml2 is thread-safe once xmlInitParser() has run; every function here
// calls EnsureXmlInitialized() first. Distinct documents may be used from
// distinct threads; one document must not be mutated concurrently.
#ifndef KSEF_FORMATS_XADES_XML_DOCUMENT_H_
#define KSEF_FORMATS_XADES_XML_DOCUMENT_H_

#include <libxml/tree.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::xades {

// xmlInitParser(), exactly once per process (std::call_once).
void EnsureXmlInitialized();

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const {
    if (doc != nullptr) xmlFreeDoc(doc);
  }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocDeleter>;

// Largest document we parse; an AuthTokenRequest with its signature is a
// few KiB.
inline constexpr size_t kMaxXmlBytes = 1 << 20;

// Parses UTF-8 XML with no network access, no DTD loading, no entity
// substitution and whitespace kept. A document with a DOCTYPE (internal or
// external subset) is refused, so no entity of any kind can be defined.
// INVALID_ARGUMENT "<what>: ..." for those, for malformed XML and for more
// than kMaxXmlBytes.
absl::StatusOr<XmlDocPtr> ParseXmlStrict(absl::string_view xml, absl::string_view what);

enum class C14nMethod {
  kInclusive,  // http://www.w3.org/TR/2001/REC-xml-c14n-20010315
  kExclusive,  // http://www.w3.org/2001/10/xml-exc-c14n# (no InclusiveNamespaces)
};

// Canonical form, without comments, of a document subset: the subtree of
// `subtree` (the whole document when nullptr), minus the subtree of
// `excluded` (none when nullptr), with its attributes and in-scope namespace
// nodes - i.e. what an XMLDSig Reference to `subtree` or URI="" (with the
// enveloped-signature transform removing `excluded`) feeds its digest.
// INTERNAL if libxml2 fails.
absl::StatusOr<std::string> Canonicalize(xmlDoc* doc, const xmlNode* subtree,
                                         const xmlNode* excluded, C14nMethod method);

// Element navigation (element nodes only; nullptr when absent).
xmlNode* FirstElementChild(xmlNode* node);
xmlNode* NextElementSibling(xmlNode* node);
xmlNode* LastElementChild(xmlNode* node);
// True if `node` is an element with this local name in namespace `ns`.
bool IsElement(const xmlNode* node, absl::string_view ns, absl::string_view name);
// The first child element named {ns}name.
xmlNode* FindChild(xmlNode* node, absl::string_view ns, absl::string_view name);

}  // namespace ksef::xades

#endif  // KSEF_FORMATS_XADES_XML_DOCUMENT_H_
