#include "formats/qr/invoice_xml.h"

#include <libxml/tree.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"
#include "xml/document.h"

namespace ksef::qr {
namespace {

struct XmlCharDeleter {
  void operator()(xmlChar* s) const {
    if (s != nullptr) xmlFree(s);
  }
};

// xml::ParseXmlStrict (no DTD, no entities, no network) with the invoice's
// size limit: an invoice with attachments may be 3 MB.
absl::StatusOr<xml::XmlDocPtr> ParseInvoice(absl::string_view bytes) {
  if (bytes.size() > kMaxInvoiceBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("invoice: the file is larger than ", kMaxInvoiceBytes, " bytes"));
  }
  return xml::ParseXmlStrict(bytes, "invoice", kMaxInvoiceBytes);
}

// The text of {FA(3)}path[0]/path[1]/... below `node`, without surrounding
// whitespace (xsd:date and the NIP token type collapse it).
absl::StatusOr<std::string> TextAt(xmlNode* node, std::initializer_list<const char*> path,
                                   absl::string_view shown_path) {
  for (const char* name : path) {
    node = xml::FindChild(node, kFa3Namespace, name);
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
  KSEF_ASSIGN_OR_RETURN(xml::XmlDocPtr doc, ParseInvoice(xml_bytes));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!xml::IsElement(root, kFa3Namespace, "Faktura")) {
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
  ref.invoice_sha256 = crypto::Sha256(xml_bytes);
  return ref;
}

}  // namespace ksef::qr
