// libxml2 plumbing, the one home for it: one-time library initialization,
// an RAII owner for documents, THE hardened parser (every XML we read from
// outside goes through ParseXmlStrict) and element navigation.
//
// libxml2 is thread-safe once xmlInitParser() has run; every function here
// calls EnsureXmlInitialized() first. Distinct documents may be used from
// distinct threads; one document must not be mutated concurrently.
#ifndef KSEF_XML_DOCUMENT_H_
#define KSEF_XML_DOCUMENT_H_

#include <libxml/tree.h>

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::xml {

// xmlInitParser(), exactly once per process (std::call_once).
void EnsureXmlInitialized();

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const {
    if (doc != nullptr) xmlFreeDoc(doc);
  }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocDeleter>;

// Parses UTF-8 XML with no network access, no DTD loading, no entity
// substitution and whitespace kept (whitespace text nodes are part of what
// is signed). A document with a DOCTYPE (internal or external subset) is
// refused before parsing, so no entity of any kind can be defined.
// INVALID_ARGUMENT "<what>: ..." for those, for malformed XML, for a
// document without a root element and for more than `max_bytes` (the
// caller's limit: each kind of document has its own).
absl::StatusOr<XmlDocPtr> ParseXmlStrict(absl::string_view xml, absl::string_view what,
                                         size_t max_bytes);

// Element navigation (element nodes only; nullptr when absent).
xmlNode* FirstElementChild(xmlNode* node);
xmlNode* NextElementSibling(xmlNode* node);
xmlNode* LastElementChild(xmlNode* node);
// True if `node` is an element with this local name in namespace `ns`.
bool IsElement(const xmlNode* node, absl::string_view ns, absl::string_view name);
// The first child element named {ns}name.
xmlNode* FindChild(xmlNode* node, absl::string_view ns, absl::string_view name);

}  // namespace ksef::xml

#endif  // KSEF_XML_DOCUMENT_H_
