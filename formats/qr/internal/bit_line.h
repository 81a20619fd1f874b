// A row or column of a QR symbol as bits, for scoring mask patterns
// (qr_mask.cc): whole-line AND/OR/XOR/NOT, shifts by whole modules, counts.
// Internal to formats/qr (not in its public headers). Pure.
#ifndef KSEF_FORMATS_QR_INTERNAL_BIT_LINE_H_
#define KSEF_FORMATS_QR_INTERNAL_BIT_LINE_H_

#include <bit>
#include <cstdint>

namespace ksef::qr {

// std::popcount compiles to a library call for the baseline x86-64 target
// (no POPCNT instruction); this stays inline.
inline int Popcount(uint64_t v) {
  v -= (v >> 1) & 0x5555555555555555ull;
  v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
  v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int>((v * 0x0101010101010101ull) >> 56);
}

// One row or column of a symbol: bit i % 64 of w[i / 64] is module i, 1 dark.
// W words hold up to 64 * W modules; bits past the line's length stay 0.
template <int W>
struct Line {
  uint64_t w[W] = {};

  friend Line operator&(Line a, const Line& b) {
    for (int i = 0; i < W; ++i) a.w[i] &= b.w[i];
    return a;
  }
  friend Line operator|(Line a, const Line& b) {
    for (int i = 0; i < W; ++i) a.w[i] |= b.w[i];
    return a;
  }
  friend Line operator^(Line a, const Line& b) {
    for (int i = 0; i < W; ++i) a.w[i] ^= b.w[i];
    return a;
  }
  friend Line operator~(Line a) {
    for (int i = 0; i < W; ++i) a.w[i] = ~a.w[i];
    return a;
  }
  // Bit i of the result is bit i + k of this line (0 < k < 64).
  Line Next(int k) const {
    Line r;
    for (int i = 0; i < W; ++i) {
      r.w[i] = w[i] >> k;
      if (i + 1 < W) r.w[i] |= w[i + 1] << (64 - k);
    }
    return r;
  }
  // Bit i of the result is bit i - k of this line (0 < k < 64).
  Line Prev(int k) const {
    Line r;
    for (int i = 0; i < W; ++i) {
      r.w[i] = w[i] << k;
      if (i > 0) r.w[i] |= w[i - 1] >> (64 - k);
    }
    return r;
  }
  bool Bit(int i) const { return (w[i / 64] >> (i % 64)) & 1; }
  void Set(int i) { w[i / 64] |= uint64_t{1} << (i % 64); }
  int Count() const {
    int n = 0;
    for (int i = 0; i < W; ++i) n += Popcount(w[i]);
    return n;
  }
  bool Any() const {
    uint64_t any = 0;
    for (int i = 0; i < W; ++i) any |= w[i];
    return any != 0;
  }
  int First() const {  // the line must not be empty
    int i = 0;
    while (w[i] == 0) ++i;
    return i * 64 + std::countr_zero(w[i]);
  }
  int Last() const {  // the line must not be empty
    int i = W - 1;
    while (w[i] == 0) --i;
    return i * 64 + 63 - std::countl_zero(w[i]);
  }
  template <typename F>
  void ForEachBit(F&& f) const {
    for (int i = 0; i < W; ++i) {
      for (uint64_t v = w[i]; v != 0; v &= v - 1) f(i * 64 + std::countr_zero(v));
    }
  }
};

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_INTERNAL_BIT_LINE_H_
