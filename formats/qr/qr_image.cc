#include "formats/qr/qr_image.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "formats/qr/label_font.h"
#include "formats/qr/png_writer.h"
#include "xml/text.h"

namespace ksef::qr {
namespace {

constexpr int kMaxLabelBytes = 64;
constexpr int kLabelBandUnits = 10;  // 1 blank + 7 glyph + 2 blank rows, times the scale
constexpr int kLabelTopUnits = 1;

absl::Status ValidateOptions(const QrImageOptions& o) {
  if (o.module_px < 1 || o.module_px > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.module_px: ", o.module_px, " is outside 1..64"));
  }
  if (o.quiet_zone_modules < 4 || o.quiet_zone_modules > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.quiet_zone_modules: ", o.quiet_zone_modules,
                     " is outside 4..32 (ISO/IEC 18004 needs at least 4)"));
  }
  if (o.dpi < 72 || o.dpi > 2400) {
    return absl::InvalidArgumentError(absl::StrCat("options.dpi: ", o.dpi, " is outside 72..2400"));
  }
  if (o.label.size() > kMaxLabelBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.label: longer than ", kMaxLabelBytes, " bytes"));
  }
  return absl::OkStatus();
}

// Width of the label in font units (pixels at scale 1), for n characters.
int LabelUnits(size_t n) { return n == 0 ? 0 : static_cast<int>(n) * kGlyphAdvance - 1; }

QrImageLayout Layout(const QrMatrix& m, const QrImageOptions& o, size_t label_chars) {
  QrImageLayout l;
  l.version = m.version;
  l.modules = m.size;
  l.code_px = (m.size + 2 * o.quiet_zone_modules) * o.module_px;
  l.width = l.code_px;
  l.height = l.code_px;
  if (label_chars > 0) {
    int units = LabelUnits(label_chars);
    int min_scale = std::max(1, o.module_px / 2);
    int fit_scale = (l.code_px - 2 * o.module_px) / units;
    l.label_scale = std::max(min_scale, std::min(o.module_px, fit_scale));
    l.width = std::max(l.code_px, units * l.label_scale + 2 * o.module_px);
    l.label_band_px = kLabelBandUnits * l.label_scale;
    l.height += l.label_band_px;
  }
  l.code_left = (l.width - l.code_px) / 2;
  return l;
}

struct Prepared {
  QrMatrix matrix;
  QrImageLayout layout;
};

absl::StatusOr<Prepared> Prepare(absl::string_view text, const QrImageOptions& o,
                                 size_t label_chars) {
  KSEF_RETURN_IF_ERROR(ValidateOptions(o));
  Prepared p;
  KSEF_ASSIGN_OR_RETURN(p.matrix, EncodeQr(text, o.ecc));
  p.layout = Layout(p.matrix, o, label_chars);
  return p;
}

// Calls run(x, n) for each horizontal run of n dark modules of row y
// starting at module x, left to right.
template <typename F>
void ForEachDarkRun(const QrMatrix& m, int y, F&& run) {
  for (int x = m.NextDark(0, y); x < m.size;) {
    const int end = m.NextLight(x, y);
    run(x, end - x);
    x = m.NextDark(end, y);
  }
}

// Draws the modules, each module row once and then copied module_px - 1
// times; four modules at a time when their pixels fit one PutBits.
void DrawCode(const QrMatrix& matrix, int x0, int y0, int module_px, BilevelImage& img) {
  const bool by_four = 4 * module_px <= 56;
  uint64_t pixels_of_four[16] = {};  // bit i of the index: module i from the left
  const uint64_t module_pixels = by_four ? (uint64_t{1} << module_px) - 1 : 0;
  for (unsigned v = 0; by_four && v < 16; ++v) {
    for (int i = 0; i < 4; ++i) {
      pixels_of_four[v] = (pixels_of_four[v] << module_px) | ((v >> i) & 1 ? module_pixels : 0);
    }
  }
  for (int y = 0; y < matrix.size; ++y) {
    const int top = y0 + y * module_px;
    const uint64_t* words = matrix.rows.data() + static_cast<size_t>(y) * matrix.words_per_row;
    {
      BilevelImage::RowPainter row(img, top, x0);
      int x = 0;
      for (; by_four && x + 4 <= matrix.size; x += 4) {  // x % 4 == 0: within one word
        row.PutBits(pixels_of_four[(words[x / 64] >> (x % 64)) & 0xF], 4 * module_px);
      }
      for (; x < matrix.size; ++x) row.Put(matrix.IsDark(x, y), module_px);
    }
    img.RepeatRow(top, module_px - 1);
  }
}

// Draws the label with its top left corner at (x0, y0), scale s: each glyph
// row once across the whole label, then copied s - 1 times.
void DrawLabel(absl::string_view label, int x0, int y0, int s, BilevelImage& img) {
  for (int gy = 0; gy < kGlyphHeight; ++gy) {
    const int top = y0 + gy * s;
    {
      BilevelImage::RowPainter row(img, top, x0);
      for (size_t i = 0; i < label.size(); ++i) {
        if (i > 0) row.Put(false, (kGlyphAdvance - kGlyphWidth) * s);  // between glyphs
        const uint8_t bits = GlyphRows(label[i])[gy];
        for (int gx = kGlyphWidth - 1; gx >= 0; --gx) row.Put((bits >> gx) & 1, s);
      }
    }
    img.RepeatRow(top, s - 1);
  }
}

// Printable UTF-8 only: XML 1.0 forbids most control characters outright.
absl::Status ValidateSvgLabel(absl::string_view label) {
  if (!IsValidUtf8(label)) return absl::InvalidArgumentError("options.label: not valid UTF-8");
  for (char c : label) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return absl::InvalidArgumentError("options.label: control characters are not allowed");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<QrImageLayout> LayoutQrImage(absl::string_view text, const QrImageOptions& options) {
  KSEF_ASSIGN_OR_RETURN(Prepared p, Prepare(text, options, options.label.size()));
  return p.layout;
}

absl::StatusOr<std::string> RenderPng(absl::string_view text, const QrImageOptions& options) {
  KSEF_RETURN_IF_ERROR(ValidateLabelForFont(options.label, "options.label"));
  KSEF_ASSIGN_OR_RETURN(Prepared p, Prepare(text, options, options.label.size()));
  const QrImageLayout& l = p.layout;
  const int m = options.module_px;
  BilevelImage img(l.width, l.height);
  DrawCode(p.matrix, l.code_left + options.quiet_zone_modules * m, options.quiet_zone_modules * m,
           m, img);
  if (!options.label.empty()) {
    const int s = l.label_scale;
    DrawLabel(options.label, (l.width - LabelUnits(options.label.size()) * s) / 2,
              l.code_px + kLabelTopUnits * s, s, img);
  }
  return EncodePng(img, options.dpi);
}

absl::StatusOr<std::string> RenderSvg(absl::string_view text, const QrImageOptions& options) {
  KSEF_RETURN_IF_ERROR(ValidateSvgLabel(options.label));
  // Lay out as many character cells as the label has characters, so PNG and
  // SVG of an ASCII label have the same size.
  size_t chars = 0;
  for (char c : options.label) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  KSEF_ASSIGN_OR_RETURN(Prepared p, Prepare(text, options, chars));
  const QrImageLayout& l = p.layout;
  const int m = options.module_px;
  std::string svg = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">\n"
      "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n<path fill=\"#000000\" "
      "d=\"",
      l.width, l.height, l.width, l.height, l.width, l.height);
  const int x0 = l.code_left + options.quiet_zone_modules * m;
  const int y0 = options.quiet_zone_modules * m;
  // One subpath per horizontal run of dark modules keeps the file small
  // ("M12 16h8v4h-8z", fewer than one run per two modules).
  svg.reserve(svg.size() + static_cast<size_t>(p.matrix.size) * p.matrix.size * 8 + 256);
  for (int y = 0; y < p.matrix.size; ++y) {
    ForEachDarkRun(p.matrix, y, [&](int x, int n) {
      absl::StrAppend(&svg, "M", x0 + x * m, " ", y0 + y * m, "h", n * m, "v", m, "h-", n * m, "z");
    });
  }
  svg += "\"/>\n";
  if (!options.label.empty()) {
    const int s = l.label_scale;
    // Baseline at the bottom of the 7-unit glyph cell; a 9-unit font size
    // gives capitals about as tall as the PNG glyphs.
    absl::StrAppendFormat(&svg,
                          "<text x=\"%d\" y=\"%d\" font-family=\"DejaVu Sans Mono, monospace\" "
                          "font-size=\"%d\" text-anchor=\"middle\" fill=\"#000000\">%s</text>\n",
                          l.width / 2, l.code_px + (kLabelTopUnits + kGlyphHeight) * s, 9 * s,
                          xml::EscapeXmlAttribute(options.label));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace ksef::qr
