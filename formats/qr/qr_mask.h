// Mask pattern selection (ISO/IEC 18004 7.8) for a symbol that libqrencode
// laid out with mask pattern 0.
//
// Each of the eight patterns is applied to the data modules, its format
// information written in, and the symbol scored as libqrencode 4 scores it,
// so the result is the symbol libqrencode's own selection gives
// (QRcode_encodeData; qr_mask_test compares them):
//   N1  3 + (n - 5) for each run of n >= 5 modules of one colour in a row or
//       column;
//   N2  3 for each 2x2 block of one colour (overlapping blocks all count);
//   N3  40 for each dark-light-dark-light-dark sequence of runs in the ratio
//       1:1:3:1:1 (f, f, 3f, f, f modules, any f >= 1) in a row or column
//       whose light run before it is at least 4f long, or is the line's first
//       run, or is absent (the sequence starts at the edge), or likewise the
//       light run after it (at least 4f, the line's last run, or absent);
//   N4  10 for each whole 5 points the share of dark modules (in percent,
//       rounded) is away from 50.
// The first pattern with the lowest total wins. Rows and columns are scored
// as bit strings, 64 modules per machine word: a few microseconds per pattern
// where scoring one module at a time takes tens.
#ifndef KSEF_FORMATS_QR_QR_MASK_H_
#define KSEF_FORMATS_QR_QR_MASK_H_

#include "formats/qr/qr_matrix.h"

namespace ksef::qr {

// `modules`: size * size bytes, row-major, as libqrencode's QRcode::data for
// the symbol with mask pattern 0: bit 0 set for dark, bit 7 for a function
// module (finder, timing, alignment, format or version information), which
// no mask changes. size is 21..177 (17 + 4 * version).
QrMatrix ApplyBestMask(int version, int size, EccLevel ecc, const unsigned char* modules);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_QR_MASK_H_
