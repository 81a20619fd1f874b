#include "formats/identifiers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ksef {
namespace {

absl::Status CheckDigits(absl::string_view value, size_t length, absl::string_view what,
                         absl::string_view field) {
  if (value.size() != length) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": a ", what, " has ", length,
                                                   " digits, got ", value.size(),
                                                   " characters"));
  }
  for (char c : value) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": a ", what, " has only digits, got '", value, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string QuoteForMessage(absl::string_view value) {
  std::string out;
  for (char c : value.substr(0, 64)) {
    out.push_back(absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : '?');
  }
  if (value.size() > 64) out += "...";
  return absl::StrCat("'", out, "'");
}

absl::Status ValidateNip(absl::string_view nip, absl::string_view field) {
  absl::Status s = CheckDigits(nip, 10, "NIP", field);
  if (!s.ok()) return s;
  static constexpr int kWeights[] = {6, 5, 7, 2, 3, 4, 5, 6, 7};
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += kWeights[i] * (nip[i] - '0');
  int check = sum % 11;
  if (check == 10 || check != nip[9] - '0') {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": NIP ", nip, " has a wrong check digit"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePesel(absl::string_view pesel, absl::string_view field) {
  absl::Status s = CheckDigits(pesel, 11, "PESEL", field);
  if (!s.ok()) return s;
  static constexpr int kWeights[] = {1, 3, 7, 9, 1, 3, 7, 9, 1, 3};
  int sum = 0;
  for (int i = 0; i < 10; ++i) sum += kWeights[i] * (pesel[i] - '0');
  if ((10 - sum % 10) % 10 != pesel[10] - '0') {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": PESEL ", pesel, " has a wrong check digit"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeFingerprint(absl::string_view fingerprint,
                                                 absl::string_view field) {
  if (fingerprint.size() != 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": a certificate fingerprint is 64 hex digits (SHA-256), got ",
        fingerprint.size(), " characters"));
  }
  for (char c : fingerprint) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": a certificate fingerprint has only hex digits"));
    }
  }
  return absl::AsciiStrToUpper(fingerprint);
}

}  // namespace ksef
