#include "xml/document.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ksef::xml {
namespace {

struct ParserCtxtDeleter {
  void operator()(xmlParserCtxt* ctxt) const {
    if (ctxt != nullptr) xmlFreeParserCtxt(ctxt);
  }
};

absl::string_view ToView(const xmlChar* s) {
  return s == nullptr ? absl::string_view() : absl::string_view(reinterpret_cast<const char*>(s));
}

}  // namespace

void EnsureXmlInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

absl::StatusOr<XmlDocPtr> ParseXmlStrict(absl::string_view xml, absl::string_view what,
                                         size_t max_bytes) {
  EnsureXmlInitialized();
  if (xml.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": document is larger than ", max_bytes, " bytes"));
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

}  // namespace ksef::xml
