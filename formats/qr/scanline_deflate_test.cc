// AppendZlibStream: zlib's own inflate gives back exactly the bytes, for
// rows that repeat (copies of up to thousands of bytes, in pieces of at most
// 258), random bytes, strides of 1 to 2000, and no rows.
#include "formats/qr/scanline_deflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>
#include <vector>

namespace ksef::qr {
namespace {

// What zlib inflates `stream` to, or a marker on error.
std::string Inflate(const std::string& stream, size_t expected_size) {
  std::string out(expected_size + 1, '\0');  // one spare byte: too long shows
  uLongf size = out.size();
  const int rc = uncompress(reinterpret_cast<Bytef*>(out.data()), &size,
                            reinterpret_cast<const Bytef*>(stream.data()), stream.size());
  if (rc != Z_OK) return "<zlib error " + std::to_string(rc) + ">";
  out.resize(size);
  return out;
}

void ExpectRoundTrip(const std::vector<uint8_t>& data, size_t stride) {
  SCOPED_TRACE("stride " + std::to_string(stride) + ", size " + std::to_string(data.size()));
  std::string out = "prefix";
  AppendZlibStream(data.data(), stride, data.size() / stride, out);
  ASSERT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(Inflate(out.substr(6), data.size()), std::string(data.begin(), data.end()));
}

TEST(ScanlineDeflateTest, InflatesToTheSameBytes) {
  std::mt19937 rng(7);
  for (size_t stride : {1, 2, 3, 4, 36, 257, 258, 259, 300, 2000}) {
    for (size_t rows : {0, 1, 2, 5, 40}) {
      std::vector<uint8_t> data(stride * rows);
      // Rows drawn as a QR image is: runs of white/black, each row repeated a
      // random number of times; every third row random bytes.
      for (size_t y = 0; y < rows; ++y) {
        uint8_t* row = data.data() + y * stride;
        if (y > 0 && rng() % 3 != 0) {
          std::copy(row - stride, row, row);
          continue;
        }
        for (size_t x = 0; x < stride; ++x) {
          row[x] =
              y % 3 == 2 ? static_cast<uint8_t>(rng()) : (x / (1 + rng() % 700) % 2 ? 0x00 : 0xFF);
        }
      }
      ExpectRoundTrip(data, stride);
    }
  }
  ExpectRoundTrip(std::vector<uint8_t>(100000, 0xFF), 100000);  // one long run
  ExpectRoundTrip(std::vector<uint8_t>(261 * 40, 0x0F), 261);   // 40 equal rows
}

TEST(ScanlineDeflateTest, RepeatedRowsCompress) {
  // A 276-pixel-wide image (36-byte rows) of 4-row stripes with no runs of
  // a byte: literals alone would take more than the 11 KB of rows; the row
  // copies leave a third of it at most.
  std::vector<uint8_t> data(36 * 316);
  for (size_t y = 0; y < 316; ++y) {
    for (size_t x = 1; x < 36; ++x) data[y * 36 + x] = (x + y / 4) % 2 ? 0xF0 : 0x0F;
  }
  std::string out;
  AppendZlibStream(data.data(), 36, 316, out);
  EXPECT_LT(out.size(), data.size() / 3);
  EXPECT_EQ(Inflate(out, data.size()), std::string(data.begin(), data.end()));
}

}  // namespace
}  // namespace ksef::qr
