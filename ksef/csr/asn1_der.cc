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

bool IsPrintableString(absl::string_view text) {
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    (c != '\0' && std::strchr(" '()+,-./:=?", c) != nullptr);
    if (!ok) return false;
  }
  return true;
}

}  // namespace ksef::csr
