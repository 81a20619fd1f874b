// Escaping for XML we write ourselves (the AuthTokenRequest, the Signature
// element, SVG QR images). Pure functions; thread-safe.
#ifndef KSEF_XML_TEXT_H_
#define KSEF_XML_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ksef::xml {

// Character data: & < > escaped, CR as &#xD; (a literal CR would be
// normalized away by the parser and change what gets signed).
std::string EscapeXmlText(absl::string_view text);

// Attribute values and SVG text: additionally " and ' escaped.
std::string EscapeXmlAttribute(absl::string_view text);

}  // namespace ksef::xml

#endif  // KSEF_XML_TEXT_H_
