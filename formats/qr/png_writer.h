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

  // Paints one row from left to right, from pixel x of row y on. Every
  // pixel put must lie in the row; the last byte is painted on destruction.
  class RowPainter {
   public:
    RowPainter(BilevelImage& image, int y, int x)
        : byte_(image.Row(y) + 1 + x / 8), pending_(x % 8) {}
    RowPainter(const RowPainter&) = delete;
    RowPainter& operator=(const RowPainter&) = delete;
    ~RowPainter() {
      if (pending_ > 0) *byte_ &= static_cast<uint8_t>(~(bits_ << (8 - pending_)));
    }

    // The next n <= 56 pixels: bit n-1 of `black` (the first pixel) down to
    // bit 0, 1 to paint the pixel black, 0 to pass over it.
    void PutBits(uint64_t black, int n) {
      bits_ = (bits_ << n) | black;
      pending_ += n;
      for (; pending_ >= 8; pending_ -= 8) {
        *byte_++ &= static_cast<uint8_t>(~(bits_ >> (pending_ - 8)));
      }
    }
    // The next n pixels, all black or all passed over.
    void Put(bool black, int n) {
      for (; n > 0; n -= 56) {
        const int k = n < 56 ? n : 56;
        PutBits(black ? (uint64_t{1} << k) - 1 : 0, k);
      }
    }

   private:
    uint8_t* byte_;      // holds the next pixel
    uint64_t bits_ = 0;  // the last `pending_` bits: 1 to paint black
    int pending_;        // pixels put since *byte_'s first pixel
  };

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
