// Minimal DER writer and ASN.1 string-type checks for the CSR code.
// Internal to formats/csr; pure functions, thread-safe.
#ifndef KSEF_FORMATS_CSR_ASN1_DER_H_
#define KSEF_FORMATS_CSR_ASN1_DER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/utf8.h"

namespace ksef::csr {

inline constexpr uint8_t kTagInteger = 0x02;
inline constexpr uint8_t kTagBitString = 0x03;
inline constexpr uint8_t kTagOid = 0x06;
inline constexpr uint8_t kTagUtf8String = 0x0c;
inline constexpr uint8_t kTagPrintableString = 0x13;
inline constexpr uint8_t kTagSequence = 0x30;
inline constexpr uint8_t kTagSet = 0x31;
inline constexpr uint8_t kTagContext0Constructed = 0xa0;

// tag || DER length (short or long form) || content.
std::string DerTlv(uint8_t tag, absl::string_view content);

// INTEGER holding the unsigned big-endian `magnitude`: leading zero bytes
// are dropped and one 0x00 is prepended when the high bit is set, so the
// encoding is minimal and non-negative. An empty or all-zero input gives 0.
std::string DerUnsignedInteger(absl::string_view magnitude);

// The first element inside a DER SEQUENCE, e.g. the CertificationRequestInfo
// of a CSR or the TBSCertificate of a certificate (the bytes that were
// signed). INVALID_ARGUMENT if `der` is not a well-formed SEQUENCE.
absl::StatusOr<std::string> FirstDerElement(absl::string_view der);

// BIT STRING with zero unused bits.
std::string DerBitString(absl::string_view bytes);

// IsValidUtf8 lives in common/utf8.h.
using ::ksef::IsValidUtf8;

// Only the X.680 PrintableString characters: A-Z a-z 0-9 space ' ( ) + , - . / : = ?
bool IsPrintableString(absl::string_view text);

}  // namespace ksef::csr

#endif  // KSEF_FORMATS_CSR_ASN1_DER_H_
