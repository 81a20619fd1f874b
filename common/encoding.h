// Byte encodings used by KSeF formats: Base64, Base64URL (no padding), hex.
// All functions are pure and thread-safe.
#ifndef KSEF_COMMON_ENCODING_H_
#define KSEF_COMMON_ENCODING_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ksef {

std::string Base64Encode(absl::string_view bytes);
// Strict: standard alphabet, padding required, no whitespace.
std::optional<std::string> Base64Decode(absl::string_view text);
// RFC 4648 section 5 alphabet, without padding (what KSeF links use).
std::string Base64UrlEncode(absl::string_view bytes);
// RFC 7468 text: "-----BEGIN <label>-----", Base64 of `der` in lines of 64,
// "-----END <label>-----", each line ending in "\n".
std::string PemArmor(absl::string_view label, absl::string_view der);
std::optional<std::string> Base64UrlDecode(absl::string_view text);
// Uppercase hex, as KSeF writes serials and fingerprints.
std::string HexUpper(absl::string_view bytes);
// Accepts upper- or lowercase; nullopt on odd length or a non-hex digit.
std::optional<std::string> HexDecode(absl::string_view text);

}  // namespace ksef

#endif  // KSEF_COMMON_ENCODING_H_
