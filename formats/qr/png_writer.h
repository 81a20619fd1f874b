// Encodes an 8-bit grayscale bitmap as PNG (libpng), with a pHYs chunk so
// printing software knows the intended resolution. Pure; thread-safe
// (each call has its own libpng structs).
#ifndef KSEF_FORMATS_QR_PNG_WRITER_H_
#define KSEF_FORMATS_QR_PNG_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ksef::qr {

struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // row-major, width * height; 0 black, 255 white
};

// The PNG file bytes. INVALID_ARGUMENT for an empty image, a pixel buffer of
// the wrong size or dpi outside 1..100000; INTERNAL if libpng fails.
absl::StatusOr<std::string> EncodePngGray(const GrayImage& image, int dpi);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_PNG_WRITER_H_
