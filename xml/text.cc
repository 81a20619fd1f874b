#include "xml/text.h"

namespace ksef::xml {

namespace {

std::string Escape(absl::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (attribute && c == '"') {
      out += "&quot;";
      continue;
    }
    if (attribute && c == '\'') {
      out += "&apos;";
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\r':
        out += "&#xD;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string EscapeXmlText(absl::string_view text) { return Escape(text, false); }

std::string EscapeXmlAttribute(absl::string_view text) { return Escape(text, true); }

}  // namespace ksef::xml
