#include "formats/qr/png_writer.h"

#include <zlib.h>

#include <cmath>
#include <cstring>

#include "formats/qr/scanline_deflate.h"

namespace ksef::qr {
namespace {

constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
constexpr size_t kChunkOverhead = 12;  // length, type, CRC

void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Writes a chunk whose `size` data bytes are already at p + 8; returns the
// byte after it.
uint8_t* FinishChunk(uint8_t* p, const char (&type)[5], size_t size) {
  PutU32(p, static_cast<uint32_t>(size));
  std::memcpy(p + 4, type, 4);
  PutU32(p + 8 + size, static_cast<uint32_t>(crc32(0, p + 4, static_cast<uInt>(size + 4))));
  return p + kChunkOverhead + size;
}

}  // namespace

BilevelImage::BilevelImage(int width, int height)
    : width_(width),
      height_(height),
      stride_(1 + (static_cast<size_t>(width) + 7) / 8),
      scanlines_(stride_ * static_cast<size_t>(height), 0xFF) {
  for (int y = 0; y < height; ++y) Row(y)[0] = 0;  // filter type None
}

void BilevelImage::RepeatRow(int y, int count) {
  for (int i = 1; i <= count; ++i) std::memcpy(Row(y + i), Row(y), stride_);
}

absl::StatusOr<std::string> EncodePng(const BilevelImage& image, int dpi) {
  if (dpi < 1 || dpi > 100000) return absl::InvalidArgumentError("dpi: must be 1..100000");
  constexpr size_t kIhdrSize = 13, kPhysSize = 9;
  constexpr size_t kHead = sizeof(kSignature) + 3 * kChunkOverhead + kIhdrSize + kPhysSize;
  std::string out(kHead - kChunkOverhead + 8, '\0');  // up to the IDAT data
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(p, kSignature, sizeof(kSignature));
  p += sizeof(kSignature);

  PutU32(p + 8, static_cast<uint32_t>(image.width()));
  PutU32(p + 12, static_cast<uint32_t>(image.height()));
  const uint8_t kBilevel[5] = {1, 0, 0, 0,
                               0};  // bit depth 1, grayscale, deflate, filters, no interlace
  std::memcpy(p + 16, kBilevel, sizeof(kBilevel));
  p = FinishChunk(p, "IHDR", kIhdrSize);

  // pHYs counts pixels per metre; 300 DPI is 11811.
  const auto ppm = static_cast<uint32_t>(std::lround(dpi / 0.0254));
  PutU32(p + 8, ppm);
  PutU32(p + 12, ppm);
  p[16] = 1;  // unit: metre
  p = FinishChunk(p, "pHYs", kPhysSize);

  const size_t idat = static_cast<size_t>(p - reinterpret_cast<uint8_t*>(out.data()));
  AppendZlibStream(image.scanlines().data(), image.stride(), static_cast<size_t>(image.height()),
                   out);
  const size_t idat_size = out.size() - idat - 8;
  out.append(kChunkOverhead + 4, '\0');  // the IDAT CRC, then IEND
  p = FinishChunk(reinterpret_cast<uint8_t*>(out.data()) + idat, "IDAT", idat_size);
  FinishChunk(p, "IEND", 0);
  return out;
}

}  // namespace ksef::qr
