#include "formats/xades/xml_document.h"

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlerror.h>

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ksef::xades {
namespace {

struct ParserCtxtDeleter {
  void operator()(xmlParserCtxt* ctxt) const {
    if (ctxt != nullptr) xmlFreeParserCtxt(ctxt);
  }
};

struct OutputBufferDeleter {
  void operator()(xmlOutputBuffer* buf) const {
    if (buf != nullptr) xmlOutputBufferClose(buf);
  }
};

absl::string_view ToView(const xmlChar* s) {
  return s == nullptr ? absl::string_view() : absl::string_view(reinterpret_cast<const char*>(s));
}

bool InSubtree(const xmlNode* node, const xmlNode* top) {
  for (; node != nullptr; node = node->parent) {
    if (node == top) return true;
  }
  return false;
}

struct NodeSet {
  const xmlNode* subtree;
  const xmlNode* excluded;
};

// libxml2 asks about every node of the document; namespace nodes arrive as
// xmlNs* (type XML_NAMESPACE_DECL) with the element that holds them as
// `parent`, attributes as nodes whose parent is their element.
int IsVisible(void* user_data, xmlNodePtr node, xmlNodePtr parent) {
  const auto* set = static_cast<const NodeSet*>(user_data);
  const xmlNode* anchor = node;
  if (node == nullptr || node->type == XML_NAMESPACE_DECL) anchor = parent;
  if (anchor == nullptr) return 0;
  if (set->subtree != nullptr && !InSubtree(anchor, set->subtree)) return 0;
  if (set->excluded != nullptr && InSubtree(anchor, set->excluded)) return 0;
  return 1;
}

}  // namespace

void EnsureXmlInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

absl::StatusOr<XmlDocPtr> ParseXmlStrict(absl::string_view xml, absl::string_view what) {
  EnsureXmlInitialized();
  if (xml.size() > kMaxXmlBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": document is larger than ", kMaxXmlBytes, " bytes"));
  }
  // Refused before parsing, so not even the internal subset's entity
  // declarations are processed (billion laughs, external entities).
  if (xml.find("<!DOCTYPE") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": a DOCTYPE (DTD) is not allowed"));
  }
  std::unique_ptr<xmlParserCtxt, ParserCtxtDeleter> ctxt(xmlNewParserCtxt());
  if (!ctxt) return absl::ResourceExhaustedError("libxml2: cannot allocate a parser");
  // Deliberately without XML_PARSE_NOENT, XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR
  // and XML_PARSE_NOBLANKS: whitespace text nodes are part of what is signed.
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  XmlDocPtr doc(xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), nullptr,
                                  "UTF-8", options));
  if (!doc) {
    const xmlError* error = xmlCtxtGetLastError(ctxt.get());
    std::string detail = error != nullptr && error->message != nullptr
                             ? std::string(absl::StripAsciiWhitespace(error->message))
                             : "unknown error";
    int line = error != nullptr ? error->line : 0;
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not well-formed XML (line ", line, "): ", detail));
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": a DOCTYPE (DTD) is not allowed"));
  }
  if (xmlDocGetRootElement(doc.get()) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": no root element"));
  }
  return doc;
}

absl::StatusOr<std::string> Canonicalize(xmlDoc* doc, const xmlNode* subtree,
                                         const xmlNode* excluded, C14nMethod method) {
  EnsureXmlInitialized();
  std::unique_ptr<xmlOutputBuffer, OutputBufferDeleter> buf(xmlAllocOutputBuffer(nullptr));
  if (!buf) return absl::ResourceExhaustedError("libxml2: cannot allocate an output buffer");
  NodeSet set{subtree, excluded};
  int mode = method == C14nMethod::kExclusive ? XML_C14N_EXCLUSIVE_1_0 : XML_C14N_1_0;
  int written = xmlC14NExecute(doc, IsVisible, &set, mode, /*inclusive_ns_prefixes=*/nullptr,
                               /*with_comments=*/0, buf.get());
  if (written < 0) return absl::InternalError("libxml2: canonicalization failed");
  return std::string(reinterpret_cast<const char*>(xmlOutputBufferGetContent(buf.get())),
                     xmlOutputBufferGetSize(buf.get()));
}

xmlNode* FirstElementChild(xmlNode* node) {
  if (node == nullptr) return nullptr;
  for (xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) return c;
  }
  return nullptr;
}

xmlNode* NextElementSibling(xmlNode* node) {
  if (node == nullptr) return nullptr;
  for (xmlNode* c = node->next; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) return c;
  }
  return nullptr;
}

xmlNode* LastElementChild(xmlNode* node) {
  if (node == nullptr) return nullptr;
  for (xmlNode* c = node->last; c != nullptr; c = c->prev) {
    if (c->type == XML_ELEMENT_NODE) return c;
  }
  return nullptr;
}

bool IsElement(const xmlNode* node, absl::string_view ns, absl::string_view name) {
  if (node == nullptr || node->type != XML_ELEMENT_NODE) return false;
  absl::string_view node_ns = node->ns != nullptr ? ToView(node->ns->href) : absl::string_view();
  return ToView(node->name) == name && node_ns == ns;
}

xmlNode* FindChild(xmlNode* node, absl::string_view ns, absl::string_view name) {
  for (xmlNode* c = FirstElementChild(node); c != nullptr; c = NextElementSibling(c)) {
    if (IsElement(c, ns, name)) return c;
  }
  return nullptr;
}

}  // namespace ksef::xades
