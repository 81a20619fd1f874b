#include "pkcs11/pkcs11_uri.h"

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"

namespace ksef::pkcs11 {
namespace {

constexpr absl::string_view kScheme = "pkcs11:";
constexpr char kHexDigits[] = "0123456789ABCDEF";

// The attribute table drives both directions, so the output order of
// ToString (RFC 7512 section 2.3) and the set Parse accepts cannot drift apart.
struct AttributeSpec {
  absl::string_view name;
  std::optional<std::string> Pkcs11Uri::*field;
};
constexpr std::array<AttributeSpec, 7> kAttributes = {{
    {"token", &Pkcs11Uri::token},
    {"manufacturer", &Pkcs11Uri::manufacturer},
    {"serial", &Pkcs11Uri::serial},
    {"model", &Pkcs11Uri::model},
    {"object", &Pkcs11Uri::object},
    {"type", &Pkcs11Uri::type},
    {"id", &Pkcs11Uri::id},
}};

constexpr std::array<absl::string_view, 5> kTypes = {"public", "private", "cert", "secret-key",
                                                     "data"};

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// What RFC 7512 allows unencoded in a path attribute value (pk11-pchar minus
// pct-encoded). Parse accepts exactly this set.
bool IsPathCharAllowed(char c) {
  return IsUnreserved(c) || absl::string_view(":[]@!$'()*+,=&").find(c) != absl::string_view::npos;
}

// What ToString leaves unencoded: a deliberately smaller set than the RFC
// allows. URIs end up in shell command lines and config files, so characters
// that shells or naive "key=value" splitters treat specially ('$', '(', '&',
// '=', '+', ...) are always encoded; ':' '@' ',' are harmless and keep common
// labels readable.
bool IsLeftVerbatim(char c) { return IsUnreserved(c) || c == ':' || c == '@' || c == ','; }

void AppendPercentEncoded(unsigned char c, std::string* out) {
  out->push_back('%');
  out->push_back(kHexDigits[c >> 4]);
  out->push_back(kHexDigits[c & 0x0F]);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Names appear in error messages; escape them so control bytes or stray
// non-ASCII input cannot garble a log line.
std::string Quoted(absl::string_view text) {
  return absl::StrCat("'", absl::CHexEscape(text), "'");
}

std::string SupportedNames() {
  std::vector<absl::string_view> names;
  for (const AttributeSpec& spec : kAttributes) names.push_back(spec.name);
  return absl::StrJoin(names, ", ");
}

absl::Status PinRefused(absl::string_view name) {
  // Deliberately does not echo the value: it may be a real PIN.
  return absl::InvalidArgumentError(absl::StrCat(
      "PKCS#11 URI: '", name,
      "' is not accepted: PINs belong in the server config (pin_file), not in key URIs; "
      "remove the '",
      name, "' attribute"));
}

// Decodes one attribute value. `offset` is the value's position in the whole
// URI, so messages can point at the exact character (1-based for people).
absl::StatusOr<std::string> DecodeValue(absl::string_view name, absl::string_view value,
                                        size_t offset) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '%') {
      const int hi = i + 1 < value.size() ? HexValue(value[i + 1]) : -1;
      const int lo = i + 2 < value.size() ? HexValue(value[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("PKCS#11 URI: bad percent escape ", Quoted(value.substr(i, 3)),
                         " in attribute '", name, "' at character ", offset + i + 1,
                         ": '%' must be followed by two hex digits (write %25 for a literal '%')"));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (IsPathCharAllowed(c)) {
      out.push_back(c);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "PKCS#11 URI: character ", Quoted(absl::string_view(&c, 1)), " in attribute '", name,
          "' at character ", offset + i + 1, " must be percent-encoded (as %",
          std::string{kHexDigits[static_cast<unsigned char>(c) >> 4],
                      kHexDigits[static_cast<unsigned char>(c) & 0x0F]},
          ")"));
    }
  }
  return out;
}

absl::Status CheckQuery(absl::string_view query) {
  if (query.empty()) return absl::OkStatus();  // "pkcs11:...?" is valid RFC 7512.
  std::vector<absl::string_view> names;
  for (absl::string_view part : absl::StrSplit(query, '&')) {
    names.push_back(part.substr(0, part.find('=')));
  }
  // PIN attributes first, so a PIN is never skipped past by an earlier,
  // unrelated error (and never echoed).
  for (absl::string_view name : names) {
    if (name == "pin-value" || name == "pin-source") return PinRefused(name);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "PKCS#11 URI: query attribute ", Quoted(names.front()),
      " is not supported; remove the '?...' part (this service only uses path attributes: ",
      SupportedNames(), ")"));
}

}  // namespace

std::string Pkcs11Uri::ToString() const {
  std::string out(kScheme);
  bool first = true;
  for (const AttributeSpec& spec : kAttributes) {
    const std::optional<std::string>& value = this->*spec.field;
    if (!value.has_value()) continue;
    if (!first) out.push_back(';');
    first = false;
    absl::StrAppend(&out, spec.name, "=");
    // CKA_ID is binary; encoding every byte keeps it unambiguous to read.
    const bool encode_all = spec.name == "id";
    for (char c : *value) {
      if (!encode_all && IsLeftVerbatim(c)) {
        out.push_back(c);
      } else {
        AppendPercentEncoded(static_cast<unsigned char>(c), &out);
      }
    }
  }
  return out;
}

absl::StatusOr<Pkcs11Uri> Pkcs11Uri::Parse(absl::string_view text) {
  // RFC 3986 schemes are case-insensitive.
  if (!absl::StartsWithIgnoreCase(text, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11 URI must start with \"pkcs11:\" (for example "
                     "\"pkcs11:token=ksef-hsm;object=k1;type=private\"); got a string starting "
                     "with ",
                     Quoted(text.substr(0, 16))));
  }
  size_t pos = kScheme.size();
  absl::string_view rest = text.substr(pos);
  absl::string_view path = rest;
  const size_t question = rest.find('?');
  if (question != absl::string_view::npos) {
    path = rest.substr(0, question);
    KSEF_RETURN_IF_ERROR(CheckQuery(rest.substr(question + 1)));
  }

  Pkcs11Uri uri;
  if (path.empty()) return uri;  // "pkcs11:" matches everything; valid per RFC 7512.
  for (absl::string_view attr : absl::StrSplit(path, ';')) {
    const size_t attr_pos = pos;
    pos += attr.size() + 1;
    if (attr.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PKCS#11 URI: empty attribute at character ", attr_pos + 1,
          " (stray ';'); attributes are written name=value and separated by a single ';'"));
    }
    const size_t eq = attr.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("PKCS#11 URI: attribute ", Quoted(attr),
                                                     " has no '='; write it as name=value"));
    }
    const absl::string_view name = attr.substr(0, eq);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PKCS#11 URI: empty attribute name at character ", attr_pos + 1,
                       "; expected one of: ", SupportedNames()));
    }
    if (name == "pin-value" || name == "pin-source") return PinRefused(name);
    const AttributeSpec* spec = nullptr;
    for (const AttributeSpec& candidate : kAttributes) {
      if (candidate.name == name) spec = &candidate;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("PKCS#11 URI: unknown attribute ", Quoted(name),
                       " (names are case-sensitive); supported: ", SupportedNames()));
    }
    std::optional<std::string>& field = uri.*(spec->field);
    if (field.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("PKCS#11 URI: attribute '", name,
                                                     "' appears more than once; keep only one"));
    }
    KSEF_ASSIGN_OR_RETURN(field, DecodeValue(name, attr.substr(eq + 1), attr_pos + eq + 1));
  }

  if (uri.type.has_value()) {
    bool known = false;
    for (absl::string_view type : kTypes) known = known || *uri.type == type;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("PKCS#11 URI: type=", Quoted(*uri.type),
                       " is not a valid object type; use one of: ", absl::StrJoin(kTypes, ", ")));
    }
  }
  return uri;
}

}  // namespace ksef::pkcs11
