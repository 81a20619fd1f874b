#include "formats/qr/scanline_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace ksef::qr {
namespace {

constexpr size_t kMaxDistance = 32768;  // the deflate window
constexpr size_t kMinMatch = 3, kMaxMatch = 258;
constexpr int kEndOfBlock = 256;

// Deflate packs bits from the least significant end of each byte; Huffman
// codes go in most significant bit first, so they are stored reversed.
constexpr uint32_t Reversed(uint32_t code, int length) {
  uint32_t r = 0;
  for (int i = 0; i < length; ++i, code >>= 1) r = (r << 1) | (code & 1);
  return r;
}

struct Code {
  uint16_t bits;  // reversed, ready to write
  uint8_t length;
};

// The fixed literal/length code of RFC 1951 3.2.6.
constexpr std::array<Code, 288> MakeFixedCodes() {
  std::array<Code, 288> codes{};
  for (int v = 0; v < 288; ++v) {
    uint32_t code = 0;
    int length = 0;
    if (v < 144) {
      code = 0x30 + v, length = 8;
    } else if (v < 256) {
      code = 0x190 + (v - 144), length = 9;
    } else if (v < 280) {
      code = v - 256, length = 7;
    } else {
      code = 0xC0 + (v - 280), length = 8;
    }
    codes[v] = {static_cast<uint16_t>(Reversed(code, length)), static_cast<uint8_t>(length)};
  }
  return codes;
}

constexpr std::array<Code, 288> kFixedCodes = MakeFixedCodes();

class BitSink {
 public:
  explicit BitSink(uint8_t* out) : out_(out) {}
  // The low n bits of value, least significant first (n <= 32).
  void Put(uint32_t value, int n) {
    acc_ |= uint64_t{value} << count_;
    count_ += n;
    while (count_ >= 8) {
      *out_++ = static_cast<uint8_t>(acc_);
      acc_ >>= 8;
      count_ -= 8;
    }
  }
  void Symbol(int v) { Put(kFixedCodes[v].bits, kFixedCodes[v].length); }
  uint8_t* Finish() {
    if (count_ > 0) *out_++ = static_cast<uint8_t>(acc_);
    return out_;
  }

 private:
  uint8_t* out_;
  uint64_t acc_ = 0;
  int count_ = 0;
};

// Length 3..258: symbols 257..285 and their extra bits (RFC 1951 3.2.5).
void PutLength(BitSink& s, size_t length) {
  if (length <= 10) return s.Symbol(static_cast<int>(254 + length));
  if (length == kMaxMatch) return s.Symbol(285);
  const auto v = static_cast<uint32_t>(length - 3);  // 8..254
  const int high = std::bit_width(v) - 1;            // 3..7
  s.Symbol(257 + 4 * (high - 1) + static_cast<int>((v >> (high - 2)) & 3));
  s.Put(v & ((1u << (high - 2)) - 1), high - 2);
}

// Distance 1..32768: codes 0..29 (5 bits each) and their extra bits.
void PutDistance(BitSink& s, size_t distance) {
  if (distance <= 4) return s.Put(Reversed(static_cast<uint32_t>(distance - 1), 5), 5);
  const auto v = static_cast<uint32_t>(distance - 1);  // 4..32767
  const int high = std::bit_width(v) - 1;              // 2..14
  s.Put(Reversed(2 * high + ((v >> (high - 1)) & 1), 5), 5);
  s.Put(v & ((1u << (high - 1)) - 1), high - 1);
}

// Repeats the `length` >= 3 bytes that start `distance` back (the copy may
// overlap what it makes), in pieces of at most 258 (none shorter than 3).
void PutCopy(BitSink& s, size_t length, size_t distance) {
  while (length > 0) {
    size_t piece = std::min(length, kMaxMatch);
    if (length > piece && length - piece < kMinMatch) piece = length - kMinMatch;
    PutLength(s, piece);
    PutDistance(s, distance);
    length -= piece;
  }
}

void PutLiterals(BitSink& s, const uint8_t* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) s.Symbol(bytes[i]);
}

}  // namespace

void AppendZlibStream(const uint8_t* data, size_t stride, size_t rows, std::string& out) {
  const size_t size = stride * rows;
  const size_t start = out.size();
  // Literals take at most 9 bits a byte and copies less; then the zlib
  // header (2), block header and end code (10 bits) and Adler-32 (4).
  out.resize(start + size + size / 8 + 16);
  auto* p = reinterpret_cast<uint8_t*>(out.data()) + start;
  *p++ = 0x78;  // deflate, 32 KiB window
  *p++ = 0x01;  // no dictionary, fastest; (0x78 << 8 | 0x01) % 31 == 0
  BitSink s(p);
  s.Put(0b011, 3);  // the last block, fixed Huffman codes
  for (size_t y = 0; y < rows;) {
    const uint8_t* row = data + y * stride;
    PutLiterals(s, row, stride);
    size_t same = 0;  // rows below equal to this one
    while (y + 1 + same < rows && std::memcmp(row + (1 + same) * stride, row, stride) == 0) ++same;
    if (same * stride >= kMinMatch && stride <= kMaxDistance) {
      PutCopy(s, same * stride, stride);
    } else {
      PutLiterals(s, row + stride, same * stride);
    }
    y += 1 + same;
  }
  s.Symbol(kEndOfBlock);
  p = s.Finish();
  const auto adler = static_cast<uint32_t>(adler32_z(1, data, size));
  for (int i = 0; i < 4; ++i) *p++ = static_cast<uint8_t>(adler >> (24 - 8 * i));  // big-endian
  out.resize(static_cast<size_t>(p - reinterpret_cast<uint8_t*>(out.data())));
}

}  // namespace ksef::qr
