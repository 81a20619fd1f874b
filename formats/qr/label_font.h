// A tiny built-in 5x7 bitmap font for the label printed under a QR code in
// PNG images ("OFFLINE", "CERTYFIKAT", a KSeF number such as
// 5265877635-20250729-01004014E040-00). Covers A-Z, 0-9, '-' and space only.
// Pure; thread-safe.
#ifndef KSEF_FORMATS_QR_LABEL_FONT_H_
#define KSEF_FORMATS_QR_LABEL_FONT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ksef::qr {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;
inline constexpr int kGlyphAdvance = kGlyphWidth + 1;  // one blank column between glyphs

// kGlyphHeight rows, top first; bit 4 of a row is the leftmost pixel.
// nullptr for a character the font does not have.
const uint8_t* GlyphRows(char c);

// OK if every character of `label` has a glyph; otherwise INVALID_ARGUMENT
// naming `field` and the first character that has none.
absl::Status ValidateLabelForFont(absl::string_view label, absl::string_view field);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_LABEL_FONT_H_
