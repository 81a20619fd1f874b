#include "ksef/csr/asn1_der.h"

#include <cstddef>
#include <cstring>

namespace ksef::csr {

std::string DerTlv(uint8_t tag, absl::string_view content) {
  std::string out(1, static_cast<char>(tag));
  size_t len = content.size();
  if (len < 0x80) {
    out.push_back(static_cast<char>(len));
  } else {
    std::string len_bytes;
    for (size_t v = len; v != 0; v >>= 8) {
      len_bytes.insert(len_bytes.begin(), static_cast<char>(v & 0xff));
    }
    out.push_back(static_cast<char>(0x80 | len_bytes.size()));
    out.append(len_bytes);
  }
  out.append(content.data(), content.size());
  return out;
}

std::string DerUnsignedInteger(absl::string_view magnitude) {
  while (!magnitude.empty() && magnitude.front() == '\0') magnitude.remove_prefix(1);
  std::string content;
  if (magnitude.empty() || (static_cast<uint8_t>(magnitude.front()) & 0x80) != 0) {
    content.push_back('\0');
  }
  content.append(magnitude.data(), magnitude.size());
  return DerTlv(kTagInteger, content);
}

std::string DerBitString(absl::string_view bytes) {
  std::string content(1, '\0');
  content.append(bytes.data(), bytes.size());
  return DerTlv(kTagBitString, content);
}

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t b0 = static_cast<uint8_t>(text[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
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
      return false;  // continuation byte, overlong 2-byte lead, or > U+10FFFF
    }
    if (text.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const uint8_t b = static_cast<uint8_t>(text[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false;  // overlong
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

bool IsPrintableString(absl::string_view text) {
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    (c != '\0' && std::strchr(" '()+,-./:=?", c) != nullptr);
    if (!ok) return false;
  }
  return true;
}

}  // namespace ksef::csr
