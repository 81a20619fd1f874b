// QR code images for KSeF links (KOD I, KOD II), as PNG or SVG, with an
// optional label under the code ("OFFLINE", "CERTYFIKAT" or a KSeF number,
// ksef.md 3.2-3.4).
//
// Geometry (all in pixels, origin top left):
//   code square = (modules + 2 * quiet_zone_modules) * module_px, white,
//   with the symbol centred in it. The KSeF docs fix no size or ECC level
//   (ksef.md 3.4); the defaults are ECC M (as the official C# client) and a
//   4-module quiet zone (the ISO/IEC 18004 minimum). A 216-char KOD II link
//   is version 11 at M (61 modules): (61 + 8) * 4 px = 276 px, 0.92 inch /
//   23 mm at 300 DPI; a 104-char KOD I link is version 6 (41 modules, 196 px).
//   label band = 10 * s px added below the quiet zone (1 * s blank, the 7 * s
//   glyph height, 2 * s blank), where s, the label scale, is module_px when the
//   label fits the code's width (s = 4: glyphs 28 px high, 2.4 mm at
//   300 DPI), otherwise smaller, but never below max(1, module_px / 2); if the
//   label still does not fit, the image is widened (code centred) to
//   label width + 2 * module_px. A 35-char KSeF number at module_px 4 is
//   drawn at s = 2, 418 px wide.
// PNG: 1-bit grayscale (png_writer.h), pHYs = dpi, label drawn with the
// built-in 5x7 font (label_font.h: A-Z, 0-9, '-', space only).
// SVG: the same geometry in px units (dpi is not used), the modules as one
// path, the label as an escaped <text> element (any printable UTF-8).
//
// Status: INVALID_ARGUMENT naming the field ("text", "options.module_px",
// "options.quiet_zone_modules", "options.dpi", "options.label") for bad
// input; INTERNAL if libqrencode or zlib fail. Pure; thread-safe.
#ifndef KSEF_FORMATS_QR_QR_IMAGE_H_
#define KSEF_FORMATS_QR_QR_IMAGE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "formats/qr/qr_matrix.h"

namespace ksef::qr {

inline constexpr char kLabelOffline[] = "OFFLINE";         // KOD I before a KSeF number exists
inline constexpr char kLabelCertificate[] = "CERTYFIKAT";  // KOD II

struct QrImageOptions {
  EccLevel ecc = EccLevel::kM;
  int module_px = 4;           // 1..64
  int quiet_zone_modules = 4;  // 4..32 (ISO/IEC 18004 requires at least 4)
  int dpi = 300;               // 72..2400, PNG pHYs only
  std::string label;           // empty: no label band; at most 64 bytes
};

// Layout of one image, as described above; exposed for tests and callers
// that place the image on a page.
struct QrImageLayout {
  int version = 0;        // QR version chosen for the text
  int modules = 0;        // modules per side, without the quiet zone
  int width = 0;          // image width, px
  int height = 0;         // image height, px (code square + label band)
  int code_px = 0;        // side of the code square incl. quiet zone, px
  int code_left = 0;      // x of the code square (> 0 when widened for the label)
  int label_scale = 0;    // s; 0 without a label
  int label_band_px = 0;  // 10 * s; 0 without a label
};

absl::StatusOr<QrImageLayout> LayoutQrImage(absl::string_view text, const QrImageOptions& options);
absl::StatusOr<std::string> RenderPng(absl::string_view text, const QrImageOptions& options);
absl::StatusOr<std::string> RenderSvg(absl::string_view text, const QrImageOptions& options);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_QR_IMAGE_H_
