// UTF-8 helpers. Pure; thread-safe.
#ifndef KSEF_COMMON_UTF8_H_
#define KSEF_COMMON_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ksef {

// Well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Decodes the code point starting at byte `*pos` of `text` and advances
// `*pos` past it. std::nullopt, with `*pos` unchanged, when the bytes there
// are not one well-formed UTF-8 sequence (as IsValidUtf8 defines it) or
// `*pos` is at or past the end.
std::optional<uint32_t> DecodeUtf8(absl::string_view text, size_t* pos);

// Appends the UTF-8 encoding of code point `cp` (at most U+10FFFF).
void AppendUtf8(uint32_t cp, std::string& out);

}  // namespace ksef

#endif  // KSEF_COMMON_UTF8_H_
