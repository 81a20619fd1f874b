// RenderPng's files read back with libpng: valid (chunk CRCs, zlib stream),
// 1-bit grayscale of the layout's size, and every pixel as the layout says -
// the quiet zone and margins white, module (x, y) dark exactly where the
// matrix is, the label's glyphs at their scale - for several module sizes
// (rows that start and end inside a byte), quiet zones and labels.
#include <gtest/gtest.h>
#include <png.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "formats/qr/label_font.h"
#include "formats/qr/qr_image.h"
#include "formats/qr/qr_matrix.h"

namespace ksef::qr {
namespace {

constexpr char kKodI[] =
    "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/"
    "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE";
constexpr char kKodII[] =
    "https://qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/"
    "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE/"
    "IBA8IW9KvcXwzpr53LYVZ7rEJnZkgdErsYY0Y7XegZGP-v7w0eKNztWhRZ0ysZxf-eTf_iBlGN2MNE7go14bqw";

struct Decoded {
  int width = 0, height = 0, bit_depth = 0, color_type = 0;
  std::vector<uint8_t> gray;  // one byte per pixel, 0 black, 255 white
};

// libpng's simplified reader; "" or what it reported.
std::string Decode(const std::string& png, Decoded& out) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, png.data(), png.size())) return image.message;
  image.format = PNG_FORMAT_GRAY;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.gray.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.gray.data(), 0, nullptr)) return image.message;
  out.bit_depth = png[24];
  out.color_type = png[25];
  return "";
}

// The pixel the layout asks for at (px, py).
bool ExpectDark(const QrMatrix& m, const QrImageLayout& l, const QrImageOptions& o, int px,
                int py) {
  if (py < l.code_px) {
    const int cx = px - l.code_left;
    if (cx < 0 || cx >= l.code_px) return false;
    const int mx = cx / o.module_px - o.quiet_zone_modules;
    const int my = py / o.module_px - o.quiet_zone_modules;
    return mx >= 0 && my >= 0 && mx < m.size && my < m.size && m.IsDark(mx, my);
  }
  const int s = l.label_scale;
  const int gy = (py - l.code_px) / s - 1;  // one blank unit above the glyphs
  const int units = static_cast<int>(o.label.size()) * kGlyphAdvance - 1;
  const int dx = px - (l.width - units * s) / 2;
  if (gy < 0 || gy >= kGlyphHeight || dx < 0 || dx >= units * s) return false;
  const int gx = dx / s % kGlyphAdvance;
  const uint8_t* rows = GlyphRows(o.label[static_cast<size_t>(dx / s / kGlyphAdvance)]);
  return gx < kGlyphWidth && (rows[gy] >> (kGlyphWidth - 1 - gx)) & 1;
}

void ExpectPixelsAsLaidOut(const std::string& text, const QrImageOptions& o) {
  SCOPED_TRACE(absl::StrCat("module_px ", o.module_px, ", quiet zone ", o.quiet_zone_modules,
                            ", label '", o.label, "'"));
  auto png = RenderPng(text, o);
  ASSERT_TRUE(png.ok()) << png.status();
  auto layout = LayoutQrImage(text, o);
  auto matrix = EncodeQr(text, o.ecc);
  ASSERT_TRUE(layout.ok() && matrix.ok());
  Decoded d;
  ASSERT_EQ(Decode(*png, d), "");
  EXPECT_EQ(d.bit_depth, 1);
  EXPECT_EQ(d.color_type, PNG_COLOR_TYPE_GRAY);
  ASSERT_EQ(d.width, layout->width);
  ASSERT_EQ(d.height, layout->height);
  int wrong = 0, dark = 0;
  for (int y = 0; y < d.height; ++y) {
    for (int x = 0; x < d.width; ++x) {
      const uint8_t v = d.gray[static_cast<size_t>(y) * d.width + x];
      ASSERT_TRUE(v == 0 || v == 255) << v;
      dark += v == 0;
      if ((v == 0) != ExpectDark(*matrix, *layout, o, x, y)) {
        if (++wrong <= 5) ADD_FAILURE() << "pixel (" << x << ", " << y << ")";
      }
    }
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(dark, 0);
}

TEST(PngReadbackTest, EveryPixelAsLaidOut) {
  ExpectPixelsAsLaidOut(kKodI, QrImageOptions{.label = kLabelOffline});
  ExpectPixelsAsLaidOut(kKodII, QrImageOptions{.label = kLabelCertificate});
  ExpectPixelsAsLaidOut(kKodI, QrImageOptions{.label = "5265877635-20250729-01004014E040-00"});
  ExpectPixelsAsLaidOut(kKodII, QrImageOptions{});
  for (int px : {1, 3, 5, 7, 30}) {  // 30: more than one 24-pixel step per module
    ExpectPixelsAsLaidOut(
        kKodII, QrImageOptions{.module_px = px, .quiet_zone_modules = 5, .label = "A-9 Z"});
  }
}

TEST(PngReadbackTest, CorruptedFileIsRejected) {
  // The check above would notice a broken writer: libpng refuses a file
  // whose data does not match its CRC.
  auto png = RenderPng(kKodI, QrImageOptions{});
  ASSERT_TRUE(png.ok());
  std::string bad = *png;
  const size_t idat = bad.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  bad[idat + 10] ^= 0x40;
  Decoded d;
  EXPECT_NE(Decode(bad, d), "");
}

}  // namespace
}  // namespace ksef::qr
