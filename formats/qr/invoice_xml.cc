#include "formats/qr/invoice_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "formats/xades/digest.h"
#include "formats/xades/xml_document.h"

namespace ksef::qr {
namespace {

struct ParserCtxtDeleter {
  void operator()(xmlParserCtxt* ctxt) const {
    if (ctxt != nullptr) xmlFreeParserCtxt(ctxt);
  }
};

struct XmlCharDeleter {
  void operator()(xmlChar* s) const {
    if (s != nullptr) xmlFree(s);
  }
};

// The same hardening as xades::ParseXmlStrict, which caps documents at the
// size of an AuthTokenRequest (1 MiB); an invoice with attachments may be 3 MB.
absl::StatusOr<xades::XmlDocPtr> ParseInvoice(absl::string_view xml) {
  xades::EnsureXmlInitialized();
  if (xml.size() > kMaxInvoiceBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("invoice: the file is larger than ", kMaxInvoiceBytes, " bytes"));
  }
  // Refused before parsing, so no entity declaration is ever processed.
  if (xml.find("<!DOCTYPE") != absl::string_view::npos) {
    return absl::InvalidArgumentError("invoice: a DOCTYPE (DTD) is not allowed");
  }
  std::unique_ptr<xmlParserCtxt, ParserCtxtDeleter> ctxt(xmlNewParserCtxt());
  if (!ctxt) return absl::ResourceExhaustedError("libxml2: cannot allocate a parser");
  // No XML_PARSE_NOENT (entity substitution) and no XML_PARSE_DTDLOAD.
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  xades::XmlDocPtr doc(xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()),
                                         nullptr, "UTF-8", options));
  if (!doc) {
    const xmlError* error = xmlCtxtGetLastError(ctxt.get());
    std::string detail = error != nullptr && error->message != nullptr
                             ? std::string(absl::StripAsciiWhitespace(error->message))
                             : "unknown error";
    return absl::InvalidArgumentError(absl::StrCat(
        "invoice: not well-formed XML (line ", error != nullptr ? error->line : 0, "): ", detail));
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return absl::InvalidArgumentError("invoice: a DOCTYPE (DTD) is not allowed");
  }
  return doc;
}

// The text of {FA(3)}path[0]/path[1]/... below `node`, without surrounding
// whitespace (xsd:date and the NIP token type collapse it).
absl::StatusOr<std::string> TextAt(xmlNode* node, std::initializer_list<const char*> path,
                                   absl::string_view shown_path) {
  for (const char* name : path) {
    node = xades::FindChild(node, kFa3Namespace, name);
    if (node == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("invoice: element ", shown_path, " is missing"));
    }
  }
  std::unique_ptr<xmlChar, XmlCharDeleter> content(xmlNodeGetContent(node));
  std::string text = content ? reinterpret_cast<const char*>(content.get()) : "";
  absl::StripAsciiWhitespace(&text);
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invoice: element ", shown_path, " is empty"));
  }
  return text;
}

}  // namespace

absl::StatusOr<InvoiceRef> InvoiceRefFromXml(absl::string_view xml_bytes) {
  KSEF_ASSIGN_OR_RETURN(xades::XmlDocPtr doc, ParseInvoice(xml_bytes));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!xades::IsElement(root, kFa3Namespace, "Faktura")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invoice: the root element is not Faktura in the FA(3) namespace ", kFa3Namespace));
  }
  constexpr absl::string_view kNipPath = "Faktura/Podmiot1/DaneIdentyfikacyjne/NIP";
  constexpr absl::string_view kDatePath = "Faktura/Fa/P_1";
  InvoiceRef ref;
  KSEF_ASSIGN_OR_RETURN(ref.seller_nip,
                        TextAt(root, {"Podmiot1", "DaneIdentyfikacyjne", "NIP"}, kNipPath));
  KSEF_RETURN_IF_ERROR(ValidateSellerNip(ref.seller_nip, absl::StrCat("invoice: ", kNipPath)));
  KSEF_ASSIGN_OR_RETURN(std::string date, TextAt(root, {"Fa", "P_1"}, kDatePath));
  KSEF_ASSIGN_OR_RETURN(ref.issue_date, ParseIssueDate(date, absl::StrCat("invoice: ", kDatePath)));
  ref.invoice_sha256 = xades::Sha256(xml_bytes);
  return ref;
}

}  // namespace ksef::qr
