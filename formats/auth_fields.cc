#include "formats/auth_fields.h"

#include <cstdint>
#include <optional>
#include <regex>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "formats/identifiers.h"

namespace ksef {
namespace {

bool AllOf(absl::string_view s, bool (*pred)(unsigned char)) {
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsDigit(unsigned char c) { return absl::ascii_isdigit(c); }
bool IsUpperHex(unsigned char c) { return absl::ascii_isdigit(c) || (c >= 'A' && c <= 'F'); }
bool IsUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }


// TNIP: besides the check digit, the XSD forbids a leading 0 and "x00...".
absl::Status ValidateNipPart(absl::string_view nip, absl::string_view field) {
  absl::Status s = ValidateNip(nip, field);
  if (!s.ok()) return s;
  if (nip[0] == '0' || (nip[1] == '0' && nip[2] == '0')) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": NIP ", nip, " does not match [1-9]((\\d[1-9])|([1-9]\\d))\\d{7}"));
  }
  return absl::OkStatus();
}

// An octet 0..255 written without leading zeros.
std::optional<uint32_t> ParseOctet(absl::string_view s) {
  if (s.empty() || s.size() > 3 || !AllOf(s, IsDigit)) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  uint32_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint32_t>(c - '0');
  if (v > 255) return std::nullopt;
  return v;
}

std::optional<uint32_t> ParseIp4(absl::string_view s) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = i < 3 ? s.find('.') : s.size();
    if (dot == absl::string_view::npos) return std::nullopt;
    std::optional<uint32_t> octet = ParseOctet(s.substr(0, dot));
    if (!octet) return std::nullopt;
    value = (value << 8) | *octet;
    s.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  return value;
}

// The EU VAT part of TNipVatUE, copied from the XSD (after the NIP and '-').
// XSD patterns are anchored; regex_match gives the same meaning.
const std::regex& EuVatRegex() {
  static const std::regex* const kRegex = new std::regex(
      "(AT)(U\\d{8})|(BE)([01]{1}\\d{9})|(BG)(\\d{9,10})|(CY)(\\d{8}[A-Z])|(CZ)(\\d{8,10})|"
      "(DE)(\\d{9})|(DK)(\\d{8})|(EE)(\\d{9})|(EL)(\\d{9})|"
      "(ES)([A-Z]\\d{8}|\\d{8}[A-Z]|[A-Z]\\d{7}[A-Z])|(FI)(\\d{8})|(FR)[A-Z0-9]{2}\\d{9}|"
      "(HR)(\\d{11})|(HU)(\\d{8})|(IE)(\\d{7}[A-Z]{2}|\\d[A-Z0-9+*]\\d{5}[A-Z])|(IT)(\\d{11})|"
      "(LT)(\\d{9}|\\d{12})|(LU)(\\d{8})|(LV)(\\d{11})|(MT)(\\d{8})|(NL)([A-Z0-9+*]{12})|"
      "(PT)(\\d{9})|(RO)(\\d{2,10})|(SE)(\\d{12})|(SI)(\\d{8})|(SK)(\\d{10})|"
      "(XI)((\\d{9}|(\\d{12}))|(GD|HA)(\\d{3}))",
      std::regex::ECMAScript | std::regex::optimize);
  return *kRegex;
}

}  // namespace

absl::Status ValidateChallenge(absl::string_view challenge, absl::string_view field) {
  // Positions: 8 digits, "-CR-", 10 hex, '-', 10 hex, '-', 2 hex.
  bool ok = challenge.size() == 36 && AllOf(challenge.substr(0, 8), IsDigit) &&
            challenge.substr(8, 4) == "-CR-" && AllOf(challenge.substr(12, 10), IsUpperHex) &&
            challenge[22] == '-' && AllOf(challenge.substr(23, 10), IsUpperHex) &&
            challenge[33] == '-' && AllOf(challenge.substr(34, 2), IsUpperHex);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuoteForMessage(challenge),
                     " is not a KSeF challenge (\\d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2})"));
  }
  return absl::OkStatus();
}

absl::Status ValidateContextNip(absl::string_view nip, absl::string_view field) {
  return ValidateNipPart(nip, field);
}

absl::Status ValidateInternalId(absl::string_view internal_id, absl::string_view field) {
  if (internal_id.size() != 16 || internal_id[10] != '-' ||
      !AllOf(internal_id.substr(11), IsDigit)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuoteForMessage(internal_id),
                     " is not an internal id (NIP-5 digits, e.g. 5265877635-12345)"));
  }
  return ValidateNipPart(internal_id.substr(0, 10), field);
}

absl::Status ValidateNipVatUe(absl::string_view nip_vat_ue, absl::string_view field) {
  if (nip_vat_ue.size() < 12 || nip_vat_ue[10] != '-') {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", QuoteForMessage(nip_vat_ue), " is not NIP-EU VAT number (e.g. 5265877635-ATU12345678)"));
  }
  absl::Status s = ValidateNipPart(nip_vat_ue.substr(0, 10), field);
  if (!s.ok()) return s;
  absl::string_view vat = nip_vat_ue.substr(11);
  if (!std::regex_match(vat.begin(), vat.end(), EuVatRegex())) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuoteForMessage(vat),
                     " is not an EU VAT number in the form the XSD allows for its country"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePeppolId(absl::string_view peppol_id, absl::string_view field) {
  if (peppol_id.size() != 9 || peppol_id[0] != 'P' || !AllOf(peppol_id.substr(1, 2), IsUpper) ||
      !AllOf(peppol_id.substr(3), IsDigit)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", QuoteForMessage(peppol_id), " is not a Peppol id (P[A-Z]{2}[0-9]{6}, e.g. PPL123456)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateIp4Address(absl::string_view address, absl::string_view field) {
  if (!ParseIp4(address)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuoteForMessage(address),
                     " is not an IPv4 address (a.b.c.d, 0..255, no leading zeros)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateIp4Range(absl::string_view range, absl::string_view field) {
  size_t dash = range.find('-');
  std::optional<uint32_t> first, last;
  if (dash != absl::string_view::npos) {
    first = ParseIp4(range.substr(0, dash));
    last = ParseIp4(range.substr(dash + 1));
  }
  if (!first || !last) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuoteForMessage(range), " is not an IPv4 range (a.b.c.d-e.f.g.h)"));
  }
  if (*first > *last) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuoteForMessage(range), " starts above its end"));
  }
  return absl::OkStatus();
}

absl::Status ValidateIp4Mask(absl::string_view mask, absl::string_view field) {
  size_t slash = mask.find('/');
  bool ok = false;
  if (slash != absl::string_view::npos && ParseIp4(mask.substr(0, slash))) {
    absl::string_view bits = mask.substr(slash + 1);
    std::optional<uint32_t> n = ParseOctet(bits);
    ok = n.has_value() && *n <= 32;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuoteForMessage(mask), " is not an IPv4 network (a.b.c.d/n, n in 0..32)"));
  }
  return absl::OkStatus();
}

}  // namespace ksef
