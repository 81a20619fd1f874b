// A QR symbol as a square matrix of modules, encoded with libqrencode
// (ISO/IEC 18004 model 2, as ksef.md 3.1 requires).
//
// The text is encoded in byte mode, byte for byte, in the smallest version
// that holds it at the requested error-correction level. Pure; thread-safe
// (libqrencode keeps no shared state when built with pthreads, as Debian's is).
#ifndef KSEF_FORMATS_QR_QR_MATRIX_H_
#define KSEF_FORMATS_QR_QR_MATRIX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef::qr {

// Error-correction levels (recovers ~7 / 15 / 25 / 30 % of codewords).
enum class EccLevel { kL, kM, kQ, kH };

struct QrMatrix {
  int version = 0;         // 1..40
  int size = 0;            // modules per side: 17 + 4 * version (no quiet zone)
  std::vector<bool> dark;  // row-major, size * size

  bool IsDark(int x, int y) const { return dark[static_cast<size_t>(y) * size + x]; }
};

// INVALID_ARGUMENT ("text: ...") for empty text or text too long for any
// version at this level (e.g. above 2331 bytes at M); INTERNAL if libqrencode
// fails otherwise.
absl::StatusOr<QrMatrix> EncodeQr(absl::string_view text, EccLevel ecc);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_QR_MATRIX_H_
