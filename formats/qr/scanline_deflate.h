// Compresses image rows into a zlib stream (RFC 1950) for a PNG IDAT chunk,
// exploiting the two redundancies of a drawn QR code: a row equal to the row
// above it (each module row is module_px rows), and runs of one byte within
// a row (white or black spans). One deflate block (RFC 1951) with the fixed
// Huffman codes: each run of repeated rows is one back-reference, each run
// of 4 or more equal bytes a literal and a back-reference, anything else
// literals. No search: one pass over the rows, about ten times faster than
// zlib's level 1 on these images for files about twice as big (a 276x316
// KOD II image: 2.5 KB; see docs/performance.md). Pure; thread-safe.
#ifndef KSEF_FORMATS_QR_SCANLINE_DEFLATE_H_
#define KSEF_FORMATS_QR_SCANLINE_DEFLATE_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace ksef::qr {

// Appends to `out` the zlib stream of rows * stride bytes at `data` (rows of
// `stride` bytes, stride >= 1; any bytes). zlib's inflate gives the bytes back.
void AppendZlibStream(const uint8_t* data, size_t stride, size_t rows, std::string& out);

}  // namespace ksef::qr

#endif  // KSEF_FORMATS_QR_SCANLINE_DEFLATE_H_
