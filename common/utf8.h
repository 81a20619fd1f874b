// UTF-8 helpers. Pure; thread-safe.
#ifndef KSEF_COMMON_UTF8_H_
#define KSEF_COMMON_UTF8_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace ksef {

// Decodes the well-formed UTF-8 sequence that starts at text[i] (i <
// text.size()) into *cp and returns its length, or 0 if the bytes there are
// not well-formed UTF-8.
size_t DecodeUtf8At(absl::string_view text, size_t i, uint32_t* cp);

// Well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Appends the UTF-8 encoding of code point `cp` (at most U+10FFFF).
void AppendUtf8(uint32_t cp, std::string& out);

}  // namespace ksef

#endif  // KSEF_COMMON_UTF8_H_
