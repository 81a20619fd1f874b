// Compresses image rows into a zlib stream (RFC 1950) for a PNG IDAT chunk,
// exploiting the redundancy of a drawn QR code: most rows equal the row
// above them (each module row is drawn module_px times). One deflate block
// (RFC 1951) with the fixed Huffman codes: each run of repeated rows is one
// back-reference to the row before it, every other byte a literal. No
// search: one pass over the rows, several times faster than zlib's level 1
// on these images, for files about twice as big (a 276x316 KOD II image:
// about 2.9 KB instead of 1.2 KB; see docs/performance.md). Pure;
// thread-safe.
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
