#include "formats/qr/qr_mask.h"

#include <array>
#include <bit>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "formats/qr/internal/bit_line.h"

namespace ksef::qr {
namespace {

constexpr int kMaxSize = 177;  // version 40
constexpr int kMaxWords = (kMaxSize + 63) / 64;
constexpr int kPatterns = 8;
constexpr int kN1 = 3, kN2 = 3, kN3 = 40, kN4 = 10;

// Bit 0 of each of the 8 bytes of v (byte i the i-th in memory), as bits 0..7.
uint64_t GatherBit0(uint64_t v) {
  static_assert(std::endian::native == std::endian::little);
  return ((v & 0x0101010101010101ull) * 0x0102040810204080ull) >> 56;
}

// Whether mask pattern k inverts the data module in column x, row y
// (ISO/IEC 18004 table 10).
constexpr bool Inverts(int k, int x, int y) {
  switch (k) {
    case 0:
      return (x + y) % 2 == 0;
    case 1:
      return y % 2 == 0;
    case 2:
      return x % 3 == 0;
    case 3:
      return (x + y) % 3 == 0;
    case 4:
      return (y / 2 + x / 3) % 2 == 0;
    case 5:
      return (x * y) % 2 + (x * y) % 3 == 0;
    case 6:
      return ((x * y) % 2 + (x * y) % 3) % 2 == 0;
    default:
      return ((x + y) % 2 + (x * y) % 3) % 2 == 0;
  }
}

// Every pattern repeats every 12 rows and every 12 columns, so 12 rows and
// 12 columns of each describe it. rows[k][r]: the inverted modules of a row
// y with y % 12 == r; cols[k][r]: those of a column x with x % 12 == r.
struct PatternLines {
  uint64_t rows[kPatterns][12][kMaxWords];
  uint64_t cols[kPatterns][12][kMaxWords];
};

constexpr PatternLines MakePatternLines() {
  PatternLines p{};
  for (int k = 0; k < kPatterns; ++k) {
    for (int r = 0; r < 12; ++r) {
      for (int i = 0; i < kMaxWords * 64; ++i) {
        if (Inverts(k, i, r)) p.rows[k][r][i / 64] |= uint64_t{1} << (i % 64);
        if (Inverts(k, r, i)) p.cols[k][r][i / 64] |= uint64_t{1} << (i % 64);
      }
    }
  }
  return p;
}

constexpr PatternLines kPatternLines = MakePatternLines();

template <int W>
Line<W> PatternLine(const uint64_t (&words)[kMaxWords]) {
  Line<W> l;
  for (int i = 0; i < W; ++i) l.w[i] = words[i];
  return l;
}

// The 15 bits of format information for a level and mask pattern (ISO/IEC
// 18004 7.9): 2 level bits and 3 pattern bits, their BCH(15,5) remainder
// (generator 10100110111), XOR 101010000010010.
uint32_t FormatBits(EccLevel ecc, int k) {
  static constexpr uint32_t kLevelBits[] = {1, 0, 3, 2};  // L, M, Q, H
  const uint32_t data = (kLevelBits[static_cast<int>(ecc)] << 3) | static_cast<uint32_t>(k);
  uint32_t rem = data << 10;
  for (int bit = 14; bit >= 10; --bit) {
    if ((rem >> bit) & 1) rem ^= 0x537u << (bit - 10);
  }
  return ((data << 10) | rem) ^ 0x5412u;
}

struct Module {
  int x, y;
};

// Where format bit i goes (both copies), bit 0 the least significant.
std::array<std::array<Module, 2>, 15> FormatModules(int size) {
  std::array<std::array<Module, 2>, 15> m;
  for (int i = 0; i < 8; ++i) m[i] = {Module{size - 1 - i, 8}, Module{8, i < 6 ? i : i + 1}};
  for (int i = 0; i < 7; ++i) m[8 + i] = {Module{8, size - 7 + i}, Module{i == 0 ? 7 : 6 - i, 8}};
  return m;
}

// Transposes n lines of n modules (n <= 64 * W): bit x of in[y] becomes bit y
// of out[x], 64x64 blocks at a time.
template <int W>
void Transpose(const Line<W>* in, int n, Line<W>* out) {
  for (int bi = 0; bi < W; ++bi) {
    for (int bj = 0; bj < W; ++bj) {
      uint64_t a[64];
      for (int i = 0; i < 64; ++i) a[i] = bi * 64 + i < n ? in[bi * 64 + i].w[bj] : 0;
      uint64_t m = 0x00000000FFFFFFFFull;
      for (int j = 32; j != 0; j >>= 1, m ^= m << j) {
        for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
          const uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
          a[k] ^= t << j;
          a[k | j] ^= t;
        }
      }
      for (int i = 0; i < 64 && bj * 64 + i < n; ++i) out[bj * 64 + i].w[bi] = a[i];
    }
  }
}

// Masks that depend only on the line length.
template <int W>
struct LineShape {
  int n = 0;
  Line<W> all;        // bits 0 .. n-1
  Line<W> pairs;      // bits 0 .. n-2: module i has a right-hand neighbour
  Line<W> first;      // bit 0
  Line<W> last_of_7;  // bit n-7: a 7-module sequence there ends at the edge
};

template <int W>
LineShape<W> MakeShape(int n) {
  LineShape<W> s;
  s.n = n;
  for (int i = 0; i < n; ++i) s.all.Set(i);
  for (int i = 0; i + 1 < n; ++i) s.pairs.Set(i);
  s.first.Set(0);
  s.last_of_7.Set(n - 7);
  return s;
}

// N3 for a dark run of 3f >= 6 modules starting at s (such runs are rare:
// checked module by module).
template <int W>
int ScaledFinderPenalty(const Line<W>& d, int n, int s) {
  auto run = [&](int i, int step, bool dark) {
    int len = 0;
    for (; i >= 0 && i < n && d.Bit(i) == dark; i += step) ++len;
    return len;
  };
  const int len = run(s, 1, true);
  if (len % 3 != 0) return 0;
  const int f = len / 3;
  const int begin = s - 2 * f, end = s + len + 2 * f;  // the whole sequence
  if (begin < 0 || end > n) return 0;
  if (run(s - 1, -1, false) != f || run(s - 1 - f, -1, true) != f) return 0;
  if (run(s + len, 1, false) != f || run(s + len + f, 1, true) != f) return 0;
  const int before = run(begin - 1, -1, false), after = run(end, 1, false);
  const bool open_before = before == begin || before >= 4 * f;
  const bool open_after = end + after == n || after >= 4 * f;
  return open_before || open_after ? kN3 : 0;
}

// N1 + N3 of one row or column.
template <int W>
int LinePenalty(const Line<W>& d, const LineShape<W>& shape) {
  const Line<W> light = ~d & shape.all;
  const Line<W> alike = ~(d ^ d.Next(1)) & shape.pairs;  // module i and i+1
  const Line<W> alike3 = alike & alike.Next(1);
  const Line<W> five = alike3 & alike3.Next(2);  // modules i .. i+4 alike
  // A run of n >= 5 holds n - 4 such windows and scores n - 2.
  int penalty = five.Count() + (kN1 - 1) * (five & ~alike.Prev(1)).Count();

  const Line<W> light_before = light.Prev(1) | shape.first;  // i == 0 or i-1 light
  const Line<W> finder = d & light.Next(1) & d.Next(2) & d.Next(3) & d.Next(4) & light.Next(5) &
                         d.Next(6) & light_before & (light.Next(7) | shape.last_of_7);
  if (finder.Any()) {  // 1:1:3:1:1 at f = 1 starting at bit i
    Line<W> open_before = light.Prev(1) & light.Prev(2) & light.Prev(3) & light.Prev(4);
    open_before.Set(d.First());
    Line<W> open_after = light.Next(7) & light.Next(8) & light.Next(9) & light.Next(10);
    open_after.Set(d.Last() - 6);
    penalty += kN3 * (finder & (open_before | open_after)).Count();
  }
  // A dark run of 3f >= 6 after a light run of f >= 2.
  const Line<W> dark2 = d & d.Next(1);
  const Line<W> dark4 = dark2 & dark2.Next(2);
  const Line<W> dark6_starts = dark4 & dark2.Next(4) & light_before & light.Prev(2);
  dark6_starts.ForEachBit([&](int s) { penalty += ScaledFinderPenalty(d, shape.n, s); });
  return penalty;
}

// The symbol with one mask pattern applied, as rows and as columns.
template <int W>
struct Masked {
  Line<W> rows[kMaxSize];
  Line<W> cols[kMaxSize];
};

// The symbol without a mask: fixed modules, data modules, and the format
// information modules (left light here), as rows and as columns.
template <int W>
struct Unmasked {
  int size = 0;
  EccLevel ecc = EccLevel::kM;
  Line<W> rows[kMaxSize], cols[kMaxSize];            // dark modules, no mask, no format
  Line<W> data_rows[kMaxSize], data_cols[kMaxSize];  // modules a mask inverts
  std::array<std::array<Module, 2>, 15> format;
};

template <int W>
void Unmask(int size, EccLevel ecc, const unsigned char* modules, Unmasked<W>& u) {
  u.size = size;
  u.ecc = ecc;
  u.format = FormatModules(size);
  for (int y = 0; y < size; ++y) {
    const unsigned char* row = modules + static_cast<size_t>(y) * size;
    int x = 0;
    for (; x + 8 <= size; x += 8) {  // 8 modules at a time, within one word
      uint64_t bytes;
      std::memcpy(&bytes, row + x, 8);
      u.rows[y].w[x / 64] |= GatherBit0(bytes) << (x % 64);
      u.data_rows[y].w[x / 64] |= (GatherBit0(bytes >> 7) ^ 0xFF) << (x % 64);
    }
    for (; x < size; ++x) {
      const uint64_t bit = uint64_t{1} << (x % 64);
      if (row[x] & 1) u.rows[y].w[x / 64] |= bit;
      if (!(row[x] & 0x80)) u.data_rows[y].w[x / 64] |= bit;
    }
    u.rows[y] = u.rows[y] ^ (PatternLine<W>(kPatternLines.rows[0][y % 12]) & u.data_rows[y]);
  }
  for (const auto& copies : u.format) {
    for (const Module& m : copies) u.rows[m.y].w[m.x / 64] &= ~(uint64_t{1} << (m.x % 64));
  }
  Transpose(u.rows, size, u.cols);
  Transpose(u.data_rows, size, u.data_cols);
}

template <int W>
void ApplyPattern(const Unmasked<W>& u, int k, Masked<W>& m) {
  for (int i = 0; i < u.size; ++i) {
    m.rows[i] = u.rows[i] ^ (PatternLine<W>(kPatternLines.rows[k][i % 12]) & u.data_rows[i]);
    m.cols[i] = u.cols[i] ^ (PatternLine<W>(kPatternLines.cols[k][i % 12]) & u.data_cols[i]);
  }
  const uint32_t bits = FormatBits(u.ecc, k);
  for (int i = 0; i < 15; ++i) {
    if (!((bits >> i) & 1)) continue;
    for (const Module& mod : u.format[i]) {
      m.rows[mod.y].Set(mod.x);
      m.cols[mod.x].Set(mod.y);
    }
  }
}

// The pattern's score, or some score >= `best` once it cannot beat `best`.
template <int W>
int Score(const Masked<W>& m, const LineShape<W>& shape, int best) {
  const int n = shape.n;
  int dark = 0;
  for (int y = 0; y < n; ++y) dark += m.rows[y].Count();
  const int area = n * n;
  const int percent = (200 * dark + area) / area / 2;
  int score = std::abs(percent - 50) / 5 * kN4;
  for (int y = 0; y < n; ++y) {
    score += LinePenalty(m.rows[y], shape);
    if (y > 0) {
      const Line<W>& a = m.rows[y - 1];
      const Line<W> same = ~(a ^ m.rows[y]);
      score += kN2 * (same & same.Next(1) & ~(a ^ a.Next(1)) & shape.pairs).Count();
    }
    if (y % 16 == 15 && score >= best) return score;
  }
  for (int x = 0; x < n; ++x) {
    score += LinePenalty(m.cols[x], shape);
    if (x % 16 == 15 && score >= best) return score;
  }
  return score;
}

template <int W>
QrMatrix Select(int version, int size, EccLevel ecc, const unsigned char* modules) {
  // About 40 KB for version 40: on the heap, not on a server thread's stack.
  auto u = std::make_unique<Unmasked<W>>();
  auto m = std::make_unique<Masked<W>>();
  Unmask(size, ecc, modules, *u);
  const LineShape<W> shape = MakeShape<W>(size);
  int best = INT_MAX, best_k = 0;
  for (int k = 0; k < kPatterns; ++k) {
    ApplyPattern(*u, k, *m);
    const int score = Score(*m, shape, best);
    if (score < best) {
      best = score;
      best_k = k;
    }
  }
  ApplyPattern(*u, best_k, *m);
  QrMatrix out;
  out.version = version;
  out.size = size;
  out.words_per_row = W;
  out.rows.resize(static_cast<size_t>(size) * W);
  for (int y = 0; y < size; ++y) {
    for (int i = 0; i < W; ++i) out.rows[static_cast<size_t>(y) * W + i] = m->rows[y].w[i];
  }
  return out;
}

}  // namespace

QrMatrix ApplyBestMask(int version, int size, EccLevel ecc, const unsigned char* modules) {
  switch ((size + 63) / 64) {
    case 1:
      return Select<1>(version, size, ecc, modules);
    case 2:
      return Select<2>(version, size, ecc, modules);
    default:
      return Select<3>(version, size, ecc, modules);
  }
}

}  // namespace ksef::qr
