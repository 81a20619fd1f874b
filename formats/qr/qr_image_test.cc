// QR images: what zbarimg decodes is exactly the link (KOD I and a 216-char
// KOD II), the label band's geometry, PNG header/pHYs, SVG text, font table.
#include "formats/qr/qr_image.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "crypto/sha256.h"
#include "crypto/software_signer.h"
#include "formats/qr/label_font.h"
#include "formats/qr/links.h"
#include "formats/qr/qr_matrix.h"

namespace ksef::qr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKodI[] =
    "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/"
    "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE";
constexpr char kKodII[] =
    "https://qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/"
    "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE/"
    "IBA8IW9KvcXwzpr53LYVZ7rEJnZkgdErsYY0Y7XegZGP-v7w0eKNztWhRZ0ysZxf-eTf_iBlGN2MNE7go14bqw";
constexpr char kKsefNumber[] = "5265877635-20250729-01004014E040-00";

uint32_t BigEndian32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

// IHDR is the first chunk: signature(8) length(4) "IHDR"(4) width(4) height(4).
void PngSize(const std::string& png, uint32_t* width, uint32_t* height) {
  ASSERT_GE(png.size(), 33u);
  ASSERT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  ASSERT_EQ(png.substr(12, 4), "IHDR");
  *width = BigEndian32(png, 16);
  *height = BigEndian32(png, 20);
  EXPECT_EQ(png[24], 1);  // bit depth
  EXPECT_EQ(png[25], 0);  // colour type: grayscale
}

// zbarimg --raw on a temp file; returns what it printed (one trailing
// newline stripped) or an error marker.
std::string Zbar(const std::string& png) {
  char path[] = "/tmp/ksef-qr-test-XXXXXX.png";
  int fd = mkstemps(path, 4);
  if (fd < 0) return "<mkstemps failed>";
  close(fd);
  std::ofstream(path, std::ios::binary) << png;
  std::string out;
  FILE* p = popen(absl::StrCat("zbarimg --raw -q ", path, " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return "<popen failed>";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  std::remove(path);
  if (rc != 0) return absl::StrCat("<zbarimg exit ", rc, ": ", out, ">");
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST(QrMatrixTest, VersionsForKsefLinks) {
  auto kod1 = EncodeQr(kKodI, EccLevel::kM);
  ASSERT_TRUE(kod1.ok()) << kod1.status();
  EXPECT_EQ(std::string(kKodI).size(), 104u);
  EXPECT_EQ(kod1->version, 6);
  EXPECT_EQ(kod1->size, 41);
  auto kod2 = EncodeQr(kKodII, EccLevel::kM);
  ASSERT_TRUE(kod2.ok()) << kod2.status();
  EXPECT_EQ(std::string(kKodII).size(), 216u);
  EXPECT_EQ(kod2->version, 11);  // ksef.md 3.4
  EXPECT_EQ(kod2->size, 61);
  auto low = EncodeQr(kKodII, EccLevel::kL);
  auto high = EncodeQr(kKodII, EccLevel::kH);
  ASSERT_TRUE(low.ok() && high.ok());
  EXPECT_LT(low->version, kod2->version);
  EXPECT_GT(high->version, kod2->version);
  EXPECT_EQ(EncodeQr("", EccLevel::kM).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeQr(std::string(2400, 'a'), EccLevel::kM).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(QrImageTest, PngDecodesToExactlyTheLink) {
  for (const char* link : {kKodI, kKodII}) {
    for (EccLevel ecc : {EccLevel::kL, EccLevel::kM, EccLevel::kQ, EccLevel::kH}) {
      QrImageOptions o;
      o.ecc = ecc;
      o.label = link == kKodI ? kLabelOffline : kLabelCertificate;
      auto png = RenderPng(link, o);
      ASSERT_TRUE(png.ok()) << png.status();
      EXPECT_EQ(Zbar(*png), link);
    }
  }
}

TEST(QrImageTest, FreshlySignedKodIIDecodes) {
  auto signer = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256);
  ASSERT_TRUE(signer.ok());
  InvoiceRef inv{"1111111111", absl::CivilDay(2026, 2, 1), crypto::Sha256("<x/>")};
  auto kod = SignKodII(QrBaseUrl(Environment::kTest), ContextType::kNipVatUe,
                       "5265877635-ATU12345678", inv, "01F20A5D352AE590", **signer);
  ASSERT_TRUE(kod.ok()) << kod.status();
  EXPECT_GE(kod->link.size(), 216u);
  auto png = RenderPng(kod->link, QrImageOptions{.label = kLabelCertificate});
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(Zbar(*png), kod->link);
}

TEST(QrImageTest, LabelBandGeometry) {
  QrImageOptions plain;
  auto no_label = RenderPng(kKodII, plain);
  ASSERT_TRUE(no_label.ok()) << no_label.status();
  uint32_t w0 = 0, h0 = 0;
  PngSize(*no_label, &w0, &h0);
  EXPECT_EQ(w0, (61u + 8) * 4);  // 276 px: version 11, quiet zone 4, 4 px/module
  EXPECT_EQ(h0, w0);

  QrImageOptions labelled;
  labelled.label = kLabelCertificate;
  auto layout = LayoutQrImage(kKodII, labelled);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->label_scale, 4);
  EXPECT_EQ(layout->label_band_px, 40);
  auto with_label = RenderPng(kKodII, labelled);
  ASSERT_TRUE(with_label.ok()) << with_label.status();
  uint32_t w1 = 0, h1 = 0;
  PngSize(*with_label, &w1, &h1);
  EXPECT_EQ(w1, w0);
  EXPECT_EQ(h1, h0 + static_cast<uint32_t>(layout->label_band_px));

  // A KSeF number is too wide for the code at full scale: smaller, then wider image.
  QrImageOptions number;
  number.label = kKsefNumber;
  auto wide = LayoutQrImage(kKodI, number);
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(wide->label_scale, 2);
  EXPECT_EQ(wide->width, (35 * 6 - 1) * 2 + 8);
  EXPECT_EQ(wide->height, wide->code_px + 20);
  EXPECT_GT(wide->code_left, 0);
  auto png = RenderPng(kKodI, number);
  ASSERT_TRUE(png.ok()) << png.status();
  uint32_t w2 = 0, h2 = 0;
  PngSize(*png, &w2, &h2);
  EXPECT_EQ(w2, static_cast<uint32_t>(wide->width));
  EXPECT_EQ(h2, static_cast<uint32_t>(wide->height));
  EXPECT_EQ(Zbar(*png), kKodI);
}

TEST(QrImageTest, PngCarriesDpi) {
  for (int dpi : {300, 600}) {
    QrImageOptions o;
    o.dpi = dpi;
    auto png = RenderPng(kKodI, o);
    ASSERT_TRUE(png.ok());
    size_t at = png->find("pHYs");
    ASSERT_NE(at, std::string::npos);
    uint32_t ppm = BigEndian32(*png, at + 4);
    EXPECT_EQ(ppm, static_cast<uint32_t>(dpi / 0.0254 + 0.5));
    EXPECT_EQ(BigEndian32(*png, at + 8), ppm);
    EXPECT_EQ((*png)[at + 12], 1);  // unit: metre
  }
}

TEST(QrImageTest, ModuleSizeScalesTheImage) {
  for (int px : {1, 2, 8, 64}) {
    QrImageOptions o;
    o.module_px = px;
    auto png = RenderPng(kKodI, o);
    ASSERT_TRUE(png.ok());
    uint32_t w = 0, h = 0;
    PngSize(*png, &w, &h);
    EXPECT_EQ(w, (41u + 8) * px);
    if (px >= 2 && px <= 8) {
      EXPECT_EQ(Zbar(*png), kKodI);
    }
  }
}

TEST(QrImageTest, SvgHasTheCodeAndTheEscapedLabel) {
  QrImageOptions o;
  o.label = kKsefNumber;
  auto svg = RenderSvg(kKodI, o);
  ASSERT_TRUE(svg.ok()) << svg.status();
  auto layout = LayoutQrImage(kKodI, o);
  ASSERT_TRUE(layout.ok());
  EXPECT_THAT(*svg, HasSubstr(absl::StrCat("width=\"", layout->width, "\" height=\"",
                                           layout->height, "\"")));
  EXPECT_THAT(*svg, HasSubstr(absl::StrCat(">", kKsefNumber, "</text>")));
  EXPECT_THAT(*svg, HasSubstr("<path fill=\"#000000\" d=\"M"));

  o.label = "A&B <\"C\">";
  svg = RenderSvg(kKodI, o);
  ASSERT_TRUE(svg.ok());
  EXPECT_THAT(*svg, HasSubstr(">A&amp;B &lt;&quot;C&quot;&gt;</text>"));
  EXPECT_THAT(*svg, Not(HasSubstr("A&B")));

  o.label = "";
  svg = RenderSvg(kKodI, o);
  ASSERT_TRUE(svg.ok());
  EXPECT_THAT(*svg, Not(HasSubstr("<text")));

  o.label = "bad\x01";
  EXPECT_EQ(RenderSvg(kKodI, o).status().code(), absl::StatusCode::kInvalidArgument);
  o.label = "\xff";
  EXPECT_EQ(RenderSvg(kKodI, o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(QrImageTest, SvgRasterizedDecodes) {
  // When an SVG rasterizer is present, the SVG must decode as well.
  if (std::system("command -v rsvg-convert >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "rsvg-convert not installed (optional cross-check)";
  }
  auto svg = RenderSvg(kKodII, QrImageOptions{});
  ASSERT_TRUE(svg.ok());
  std::ofstream("/tmp/ksef-qr-svg-test.svg") << *svg;
  ASSERT_EQ(std::system("rsvg-convert -o /tmp/ksef-qr-svg-test.png /tmp/ksef-qr-svg-test.svg"), 0);
  std::ifstream in("/tmp/ksef-qr-svg-test.png", std::ios::binary);
  std::string png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(Zbar(png), kKodII);
}

TEST(QrImageTest, InvalidOptionsNameTheField) {
  auto expect = [](const QrImageOptions& o, const std::string& field) {
    for (auto status : {RenderPng(kKodI, o).status(), RenderSvg(kKodI, o).status()}) {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
      EXPECT_THAT(std::string(status.message()), ::testing::StartsWith(field)) << status;
    }
  };
  expect(QrImageOptions{.module_px = 0}, "options.module_px");
  expect(QrImageOptions{.module_px = 65}, "options.module_px");
  expect(QrImageOptions{.quiet_zone_modules = 3}, "options.quiet_zone_modules");
  expect(QrImageOptions{.dpi = 0}, "options.dpi");
  expect(QrImageOptions{.label = std::string(65, 'A')}, "options.label");
  auto lower = RenderPng(kKodI, QrImageOptions{.label = "offline"});
  EXPECT_EQ(lower.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lower.status().message()), HasSubstr("options.label: 'o'"));
  EXPECT_EQ(RenderPng("", QrImageOptions{}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LabelFontTest, EveryGlyphIsPresentAndDistinct) {
  std::set<std::string> shapes;
  for (char c : std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")) {
    const uint8_t* rows = GlyphRows(c);
    ASSERT_NE(rows, nullptr) << c;
    std::string shape(reinterpret_cast<const char*>(rows), kGlyphHeight);
    int ink = 0;
    for (uint8_t r : shape) {
      EXPECT_EQ(r & ~0x1F, 0) << c;
      ink += __builtin_popcount(r);
    }
    EXPECT_GT(ink, 0) << c;
    EXPECT_TRUE(shapes.insert(shape).second) << "duplicate glyph for " << c;
  }
  ASSERT_NE(GlyphRows(' '), nullptr);
  EXPECT_EQ(GlyphRows('a'), nullptr);
  EXPECT_EQ(GlyphRows('_'), nullptr);
  EXPECT_TRUE(ValidateLabelForFont(kKsefNumber, "label").ok());
}

}  // namespace
}  // namespace ksef::qr
