#include "formats/qr/qr_matrix.h"

#include <qrencode.h>

#include <bit>
#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"
#include "formats/qr/qr_mask.h"

// The symbol with a given mask pattern, no selection. Exported by
// libqrencode since 3.2.0 (Debian lists it in libqrencode4's symbols file)
// but declared only in its uninstalled qrencode_inner.h; the top-level
// CMakeLists.txt checks that the library has it.
extern "C" QRcode* QRcode_encodeMask(QRinput* input, int mask);

namespace ksef::qr {
namespace {

struct QrinputDeleter {
  void operator()(QRinput* input) const { QRinput_free(input); }
};

struct QrcodeDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

QRecLevel ToQrencode(EccLevel ecc) {
  switch (ecc) {
    case EccLevel::kL:
      return QR_ECLEVEL_L;
    case EccLevel::kM:
      return QR_ECLEVEL_M;
    case EccLevel::kQ:
      return QR_ECLEVEL_Q;
    case EccLevel::kH:
      return QR_ECLEVEL_H;
  }
  return QR_ECLEVEL_M;
}

absl::Status LibqrencodeError(size_t text_size) {
  if (errno == ERANGE) {
    return absl::InvalidArgumentError(absl::StrCat(
        "text: ", text_size, " bytes do not fit a QR code at this error-correction level"));
  }
  return absl::InternalError(absl::StrCat("libqrencode failed (errno ", errno, ")"));
}

}  // namespace

int QrMatrix::Next(int x, int y, uint64_t flip) const {
  const uint64_t* row = rows.data() + static_cast<size_t>(y) * words_per_row;
  for (int i = x / 64; i < words_per_row; ++i) {
    uint64_t v = row[i] ^ flip;
    if (i == x / 64) v &= ~uint64_t{0} << (x % 64);
    if (v != 0) {
      const int found = i * 64 + std::countr_zero(v);
      return found < size ? found : size;
    }
  }
  return size;
}

absl::StatusOr<QrMatrix> EncodeQr(absl::string_view text, EccLevel ecc) {
  if (text.empty()) return absl::InvalidArgumentError("text: nothing to encode");
  if (text.size() > 7089) return absl::InvalidArgumentError("text: too long for a QR code");
  errno = 0;
  // Version 0: libqrencode picks the smallest version that fits. QR_MODE_8:
  // byte mode over exactly these bytes (as QRcode_encodeData does).
  std::unique_ptr<QRinput, QrinputDeleter> input(QRinput_new2(0, ToQrencode(ecc)));
  if (!input) return LibqrencodeError(text.size());
  if (QRinput_append(input.get(), QR_MODE_8, static_cast<int>(text.size()),
                     reinterpret_cast<const unsigned char*>(text.data())) != 0) {
    return LibqrencodeError(text.size());
  }
  std::unique_ptr<QRcode, QrcodeDeleter> code(QRcode_encodeMask(input.get(), 0));
  if (!code) return LibqrencodeError(text.size());
  return ApplyBestMask(code->version, code->width, ecc, code->data);
}

}  // namespace ksef::qr
