// The KSeF number: the identifier KSeF gives an accepted invoice, printed
// as the label under KOD I once it is known (ksef.md 3.2). Its fixed form
// (KSeF docs "Numer KSeF - struktura i walidacja"), 35 characters:
//   NNNNNNNNNN-YYYYMMDD-XXXXXXXXXXXX-CC
//   seller NIP (10 digits), the date KSeF accepted the invoice (a real
//   calendar date), a technical part (12 uppercase hex digits), and the
//   CRC-8 (polynomial 0x07, initial value 0x00, no reflection, no final XOR)
//   of the first 32 characters as 2 uppercase hex digits.
// Pure functions; thread-safe.
#ifndef KSEF_FORMATS_QR_KSEF_NUMBER_H_
#define KSEF_FORMATS_QR_KSEF_NUMBER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ksef::qr {

inline constexpr size_t kKsefNumberLength = 35;

// CRC-8 as the KSeF number uses it (see above), over the bytes of `data`.
uint8_t KsefNumberCrc8(absl::string_view data);

// OK, or INVALID_ARGUMENT starting with `field` that says which part is
// wrong (length, layout, date, checksum). Only a value of the right length
// and character set is ever quoted, so the message stays short.
absl::Status ValidateKsefNumber(absl::string_view number, absl::string_view field);

// The KOD I label a caller may ask for: empty (the label is then "OFFLINE")
// or a valid KSeF number. Errors as ValidateKsefNumber.
absl::Status ValidateKsefNumberLabel(absl::string_view number, absl::string_view field);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_KSEF_NUMBER_H_
