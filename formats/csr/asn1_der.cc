#include "formats/csr/asn1_der.h"

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

namespace {

// Parses a TLV header at `in`: returns header size and sets `length`, or 0.
size_t TlvHeader(absl::string_view in, size_t* length) {
  if (in.size() < 2) return 0;
  const uint8_t first = static_cast<uint8_t>(in[1]);
  if (first < 0x80) {
    *length = first;
    return 2;
  }
  const size_t n = first & 0x7f;
  if (n == 0 || n > 4 || in.size() < 2 + n) return 0;
  size_t len = 0;
  for (size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<uint8_t>(in[2 + i]);
  *length = len;
  return 2 + n;
}

}  // namespace

absl::StatusOr<std::string> FirstDerElement(absl::string_view der) {
  size_t outer_len = 0;
  const size_t outer = TlvHeader(der, &outer_len);
  if (outer == 0 || static_cast<uint8_t>(der[0]) != kTagSequence ||
      outer + outer_len != der.size()) {
    return absl::InvalidArgumentError("not a DER SEQUENCE");
  }
  absl::string_view content = der.substr(outer);
  size_t inner_len = 0;
  const size_t inner = TlvHeader(content, &inner_len);
  if (inner == 0 || inner + inner_len > content.size()) {
    return absl::InvalidArgumentError("malformed first element");
  }
  return std::string(content.substr(0, inner + inner_len));
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
