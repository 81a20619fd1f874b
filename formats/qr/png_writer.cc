#include "formats/qr/png_writer.h"

#include <zlib.h>

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ksef::qr {
namespace {

// Deflate settings, chosen with bench/format_bench (docs/performance.md): a
// QR image is two colours in long runs and rows repeated module_px times, so
// level 1 finds nearly all there is to find, and a 1 KiB window (the longest
// row of the default images is 53 bytes) and a small hash table keep the
// set-up of each stream cheap.
constexpr int kDeflateLevel = 1;
constexpr int kWindowBits = 10;
constexpr int kMemLevel = 2;

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

// Owns a deflate stream.
class Deflater {
 public:
  Deflater() = default;
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  ~Deflater() {
    if (ready_) deflateEnd(&z_);
  }
  bool Init() {
    ready_ = deflateInit2(&z_, kDeflateLevel, Z_DEFLATED, kWindowBits, kMemLevel,
                          Z_DEFAULT_STRATEGY) == Z_OK;
    return ready_;
  }
  z_stream* stream() { return &z_; }

 private:
  z_stream z_{};
  bool ready_ = false;
};

}  // namespace

BilevelImage::BilevelImage(int width, int height)
    : width_(width),
      height_(height),
      stride_(1 + (static_cast<size_t>(width) + 7) / 8),
      scanlines_(stride_ * static_cast<size_t>(height), 0xFF) {
  for (int y = 0; y < height; ++y) Row(y)[0] = 0;  // filter type None
}

void BilevelImage::PaintBlack(int y, int x, int n) {
  uint8_t* bits = Row(y) + 1;
  const int end = x + n;
  for (; x < end && x % 8 != 0; ++x) bits[x / 8] &= static_cast<uint8_t>(~(0x80 >> (x % 8)));
  const int whole = (end - x) / 8;
  if (whole > 0) {
    std::memset(bits + x / 8, 0, static_cast<size_t>(whole));
    x += whole * 8;
  }
  for (; x < end; ++x) bits[x / 8] &= static_cast<uint8_t>(~(0x80 >> (x % 8)));
}

void BilevelImage::RepeatRow(int y, int count) {
  for (int i = 1; i <= count; ++i) std::memcpy(Row(y + i), Row(y), stride_);
}

absl::StatusOr<std::string> EncodePng(const BilevelImage& image, int dpi) {
  if (dpi < 1 || dpi > 100000) return absl::InvalidArgumentError("dpi: must be 1..100000");
  Deflater deflater;
  if (!deflater.Init()) return absl::InternalError("zlib: cannot start a deflate stream");
  z_stream* z = deflater.stream();
  const std::vector<uint8_t>& raw = image.scanlines();
  const size_t bound = deflateBound(z, static_cast<uLong>(raw.size()));
  constexpr size_t kIhdrSize = 13, kPhysSize = 9;
  std::string out(sizeof(kSignature) + 4 * kChunkOverhead + kIhdrSize + kPhysSize + bound, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(p, kSignature, sizeof(kSignature));
  p += sizeof(kSignature);

  PutU32(p + 8, static_cast<uint32_t>(image.width()));
  PutU32(p + 12, static_cast<uint32_t>(image.height()));
  const uint8_t kBilevel[5] = {1, 0, 0, 0, 0};  // bit depth 1, grayscale, deflate, filters, no interlace
  std::memcpy(p + 16, kBilevel, sizeof(kBilevel));
  p = FinishChunk(p, "IHDR", kIhdrSize);

  // pHYs counts pixels per metre; 300 DPI is 11811.
  const auto ppm = static_cast<uint32_t>(std::lround(dpi / 0.0254));
  PutU32(p + 8, ppm);
  PutU32(p + 12, ppm);
  p[16] = 1;  // unit: metre
  p = FinishChunk(p, "pHYs", kPhysSize);

  z->next_in = const_cast<Bytef*>(raw.data());
  z->avail_in = static_cast<uInt>(raw.size());
  z->next_out = p + 8;
  z->avail_out = static_cast<uInt>(bound);
  if (const int rc = deflate(z, Z_FINISH); rc != Z_STREAM_END) {
    return absl::InternalError(absl::StrCat("zlib: deflate returned ", rc));
  }
  p = FinishChunk(p, "IDAT", z->total_out);
  p = FinishChunk(p, "IEND", 0);
  out.resize(static_cast<size_t>(p - reinterpret_cast<uint8_t*>(out.data())));
  return out;
}

}  // namespace ksef::qr
