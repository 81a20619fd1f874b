// Black-and-white images and their PNG encoding: 1-bit grayscale, no
// interlace, every row with filter type 0 (None), all rows compressed in one
// pass (scanline_deflate.h), and a pHYs chunk so printing software knows the
// intended resolution. The one home of PNG writing. Pure; thread-safe.
#ifndef KSEF_FORMATS_QR_PNG_WRITER_H_
#define KSEF_FORMATS_QR_PNG_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ksef::qr {

// Pixels kept as PNG scanlines: each row is the filter byte 0 and then
// (width + 7) / 8 bytes, the leftmost pixel in the most significant bit,
// 1 white, 0 black. A new image is all white.
class BilevelImage {
 public:
  // width and height >= 1.
  BilevelImage(int width, int height);

  int width() const { return width_; }
  int height() const { return height_; }
  size_t stride() const { return stride_; }  // bytes per row, the filter byte included
  const std::vector<uint8_t>& scanlines() const { return scanlines_; }

  // Paints pixels x .. x + n - 1 of row y black; they must lie in the image.
  void PaintBlack(int y, int x, int n);
  // Copies row y onto the `count` rows below it (y + count < height).
  void RepeatRow(int y, int count);

 private:
  uint8_t* Row(int y) { return scanlines_.data() + static_cast<size_t>(y) * stride_; }

  int width_;
  int height_;
  size_t stride_;
  std::vector<uint8_t> scanlines_;
};

// The PNG file bytes. INVALID_ARGUMENT for dpi outside 1..100000.
absl::StatusOr<std::string> EncodePng(const BilevelImage& image, int dpi);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_PNG_WRITER_H_
