// A QR symbol as a square matrix of modules, encoded with libqrencode
// (ISO/IEC 18004 model 2, as ksef.md 3.1 requires).
//
// The text is encoded in byte mode, byte for byte, in the smallest version
// that holds it at the requested error-correction level, with the mask
// pattern libqrencode's own selection picks (the symbol is the one
// QRcode_encodeData gives; the mask is chosen by qr_mask.h, much faster).
// Pure; thread-safe (libqrencode keeps no shared state when built with
// pthreads, as Debian's is).
#ifndef KSEF_FORMATS_QR_QR_MATRIX_H_
#define KSEF_FORMATS_QR_QR_MATRIX_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::qr {

// Error-correction levels (recovers ~7 / 15 / 25 / 30 % of codewords).
enum class EccLevel { kL, kM, kQ, kH };

struct QrMatrix {
  int version = 0;  // 1..40
  int size = 0;     // modules per side: 17 + 4 * version (no quiet zone)
  // Row y is words [y * words_per_row, (y + 1) * words_per_row); module x of
  // the row is bit x % 64 of its word x / 64, 1 for dark. Bits at x >= size
  // are 0.
  int words_per_row = 0;
  std::vector<uint64_t> rows;

  bool IsDark(int x, int y) const {
    return (rows[static_cast<size_t>(y) * words_per_row + x / 64] >> (x % 64)) & 1;
  }
  // The first x' >= x in row y whose module is dark (NextDark) or light
  // (NextLight); `size` if there is none. 0 <= x <= size.
  int NextDark(int x, int y) const { return Next(x, y, 0); }
  int NextLight(int x, int y) const { return Next(x, y, ~uint64_t{0}); }

 private:
  int Next(int x, int y, uint64_t flip) const;
};

// INVALID_ARGUMENT ("text: ...") for empty text or text too long for any
// version at this level (e.g. above 2331 bytes at M); INTERNAL if libqrencode
// fails otherwise.
absl::StatusOr<QrMatrix> EncodeQr(absl::string_view text, EccLevel ecc);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_QR_MATRIX_H_
