#include "formats/qr/fields.h"

#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "formats/auth_fields.h"
#include "formats/identifiers.h"

namespace ksef::qr {
namespace {


bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

std::optional<int> ParseNumber(absl::string_view s) {
  if (!AllDigits(s) || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

absl::Status BadBaseUrl(absl::string_view field, absl::string_view url, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": ", QuoteForMessage(url), " is not a QR base URL (https://host[:port][/path]): ", why));
}

}  // namespace

const char* ContextTypeName(ContextType type) {
  switch (type) {
    case ContextType::kNip:
      return "Nip";
    case ContextType::kInternalId:
      return "InternalId";
    case ContextType::kNipVatUe:
      return "NipVatUe";
    case ContextType::kPeppolId:
      return "PeppolId";
  }
  return "?";
}

absl::StatusOr<ContextType> ParseContextType(absl::string_view name, absl::string_view field) {
  for (ContextType t : {ContextType::kNip, ContextType::kInternalId, ContextType::kNipVatUe,
                        ContextType::kPeppolId}) {
    if (name == ContextTypeName(t)) return t;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": ", QuoteForMessage(name), " is not a context type (Nip, InternalId, NipVatUe, PeppolId)"));
}

absl::Status ValidateBaseUrl(absl::string_view base_url, absl::string_view field) {
  constexpr absl::string_view kScheme = "https://";
  if (base_url.substr(0, kScheme.size()) != kScheme) {
    return BadBaseUrl(field, base_url, "it must start with https://");
  }
  absl::string_view rest = base_url.substr(kScheme.size());
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view path = slash == absl::string_view::npos ? "" : rest.substr(slash);

  size_t colon = authority.find(':');
  absl::string_view host = authority.substr(0, colon);
  if (colon != absl::string_view::npos) {
    std::optional<int> port = ParseNumber(authority.substr(colon + 1));
    if (!port || *port < 1 || *port > 65535 || authority[colon + 1] == '0') {
      return BadBaseUrl(field, base_url, "the port must be 1..65535");
    }
  }
  if (host.empty() || host.size() > 253) {
    return BadBaseUrl(field, base_url, "the host is missing or too long");
  }
  for (char c : host) {
    if (!IsHostChar(c)) {
      return BadBaseUrl(field, base_url,
                        "the host may hold only lowercase letters, digits, '-' and '.'");
    }
  }
  if (host.front() == '.' || host.back() == '.' || host.find("..") != absl::string_view::npos ||
      host.front() == '-') {
    return BadBaseUrl(field, base_url, "the host has an empty label");
  }
  if (!path.empty()) {
    if (path.back() == '/') return BadBaseUrl(field, base_url, "remove the trailing '/'");
    for (size_t i = 0; i < path.size(); ++i) {
      char c = path[i];
      if (c == '/') {
        if (i + 1 < path.size() && path[i + 1] == '/') {
          return BadBaseUrl(field, base_url, "the path has an empty segment");
        }
      } else if (!IsUnreserved(c)) {
        return BadBaseUrl(field, base_url,
                          "the path may hold only letters, digits, '-', '.', '_', '~' and '/'");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSellerNip(absl::string_view nip, absl::string_view field) {
  return ValidateContextNip(nip, field);
}

absl::Status ValidateIssueDate(absl::CivilDay day, absl::string_view field) {
  if (day.year() < 1000 || day.year() > 9999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": year ", day.year(), " is outside 1000..9999"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::CivilDay> ParseIssueDate(absl::string_view text, absl::string_view field) {
  std::optional<int> y, m, d;
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    y = ParseNumber(text.substr(0, 4));
    m = ParseNumber(text.substr(5, 2));
    d = ParseNumber(text.substr(8, 2));
  }
  if (!y || !m || !d) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuoteForMessage(text), " is not a date in the form YYYY-MM-DD"));
  }
  // CivilDay normalizes (2026-02-30 becomes 2026-03-02): a date exists only
  // if it survives the round trip unchanged.
  absl::CivilDay day(*y, *m, *d);
  if (day.year() != *y || day.month() != *m || day.day() != *d) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuoteForMessage(text), " is not a calendar date"));
  }
  absl::Status s = ValidateIssueDate(day, field);
  if (!s.ok()) return s;
  return day;
}

absl::Status ValidateInvoiceSha256(absl::string_view sha256, absl::string_view field) {
  if (sha256.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": a SHA-256 hash is 32 bytes, got ", sha256.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ParseInvoiceSha256(absl::string_view text, absl::string_view field) {
  std::optional<std::string> bytes;
  if (text.size() == 64) {
    bytes = HexDecode(text);
  } else if (text.size() == 44) {
    bytes = Base64Decode(text);
  } else if (text.size() == 43) {
    bytes = Base64UrlDecode(text);
  }
  if (!bytes || bytes->size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", QuoteForMessage(text),
        " is not a SHA-256 hash as 64 hex digits, 44-char Base64 or 43-char Base64URL"));
  }
  return *std::move(bytes);
}

absl::Status ValidateCertificateSerial(absl::string_view serial, absl::string_view field) {
  bool ok = serial.size() == 16;
  for (char c : serial) {
    ok = ok && ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", QuoteForMessage(serial),
        " is not a KSeF certificate serial (16 uppercase hex digits, ^[0-9A-F]{16}$)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateContextValue(ContextType type, absl::string_view value,
                                  absl::string_view field) {
  switch (type) {
    case ContextType::kNip:
      return ValidateContextNip(value, field);
    case ContextType::kInternalId:
      return ValidateInternalId(value, field);
    case ContextType::kNipVatUe:
      return ValidateNipVatUe(value, field);
    case ContextType::kPeppolId:
      return ValidatePeppolId(value, field);
  }
  return absl::InvalidArgumentError(absl::StrCat(field, ": unknown context type"));
}

}  // namespace ksef::qr
