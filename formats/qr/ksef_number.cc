#include "formats/qr/ksef_number.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"

namespace ksef::qr {
namespace {

constexpr size_t kCrcDataLength = 32;  // everything before "-CC"

bool AllOf(absl::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpperHex(char c) { return IsDigit(c) || (c >= 'A' && c <= 'F'); }

int ToInt(absl::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

bool HasLayout(absl::string_view n) {
  return AllOf(n.substr(0, 10), IsDigit) && n[10] == '-' && AllOf(n.substr(11, 8), IsDigit) &&
         n[19] == '-' && AllOf(n.substr(20, 12), IsUpperHex) && n[32] == '-' &&
         AllOf(n.substr(33, 2), IsUpperHex);
}

bool IsRealDate(absl::string_view yyyymmdd) {
  const int y = ToInt(yyyymmdd.substr(0, 4));
  const int m = ToInt(yyyymmdd.substr(4, 2));
  const int d = ToInt(yyyymmdd.substr(6, 2));
  const absl::CivilDay day(y, m, d);  // normalizes, so 20250230 comes back different
  return day.year() == y && day.month() == m && day.day() == d;
}

}  // namespace

uint8_t KsefNumberCrc8(absl::string_view data) {
  uint8_t crc = 0x00;
  for (char c : data) {
    crc ^= static_cast<uint8_t>(c);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x80) != 0 ? static_cast<uint8_t>((crc << 1) ^ 0x07)
                              : static_cast<uint8_t>(crc << 1);
    }
  }
  return crc;
}

absl::Status ValidateKsefNumber(absl::string_view number, absl::string_view field) {
  if (number.size() != kKsefNumberLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", number.size(), " bytes long; a KSeF number is exactly ", kKsefNumberLength,
        " ASCII characters (NIP-YYYYMMDD-12 hex digits-2 hex digits)"));
  }
  if (!HasLayout(number)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field,
        ": not a KSeF number; expected 10 digits, '-', 8 digits, '-', 12 uppercase hex "
        "digits, '-', 2 uppercase hex digits (e.g. 5265877635-20250826-0100001AF629-AF)"));
  }
  if (!IsRealDate(number.substr(11, 8))) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", number, ": the date part ",
                                                   number.substr(11, 8), " is not a real date"));
  }
  const std::string expected =
      absl::StrFormat("%02X", KsefNumberCrc8(number.substr(0, kCrcDataLength)));
  if (number.substr(33, 2) != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", number, ": checksum is ", number.substr(33, 2), ", expected ",
                     expected, " (CRC-8 of the first 32 characters); check for a typing error"));
  }
  return absl::OkStatus();
}

absl::Status ValidateKsefNumberLabel(absl::string_view number, absl::string_view field) {
  if (number.empty()) return absl::OkStatus();
  return ValidateKsefNumber(number, field);
}

}  // namespace ksef::qr
