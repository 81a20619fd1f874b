#include "common/utf8.h"

#include <cstdint>

namespace ksef {

std::optional<uint32_t> DecodeUtf8(absl::string_view text, size_t* pos) {
  const size_t i = *pos;
  if (i >= text.size()) return std::nullopt;
  const uint8_t b0 = static_cast<uint8_t>(text[i]);
  if (b0 < 0x80) {
    *pos = i + 1;
    return b0;
  }
  size_t extra;
  uint32_t cp;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    extra = 1;
    cp = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    extra = 2;
    cp = b0 & 0x0f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    extra = 3;
    cp = b0 & 0x07;
  } else {
    return std::nullopt;  // continuation byte, overlong 2-byte lead, or > U+10FFFF
  }
  if (text.size() - i <= extra) return std::nullopt;
  for (size_t k = 1; k <= extra; ++k) {
    const uint8_t b = static_cast<uint8_t>(text[i + k]);
    if ((b & 0xc0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3f);
  }
  if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return std::nullopt;  // overlong
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
  *pos = i + extra + 1;
  return cp;
}

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (!DecodeUtf8(text, &i).has_value()) return false;
  }
  return true;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace ksef
