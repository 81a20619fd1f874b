#include "formats/qr/qr_matrix.h"

#include <qrencode.h>

#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"

namespace ksef::qr {
namespace {

struct QrcodeDeleter {
  void operator()(QRcode* code) const {
    if (code != nullptr) QRcode_free(code);
  }
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

}  // namespace

absl::StatusOr<QrMatrix> EncodeQr(absl::string_view text, EccLevel ecc) {
  if (text.empty()) return absl::InvalidArgumentError("text: nothing to encode");
  if (text.size() > 7089) return absl::InvalidArgumentError("text: too long for a QR code");
  errno = 0;
  // QRcode_encodeData: 8-bit (byte) mode over exactly these bytes; version 0
  // lets libqrencode pick the smallest version that fits.
  std::unique_ptr<QRcode, QrcodeDeleter> code(
      QRcode_encodeData(static_cast<int>(text.size()),
                        reinterpret_cast<const unsigned char*>(text.data()), 0, ToQrencode(ecc)));
  if (!code) {
    if (errno == ERANGE) {
      return absl::InvalidArgumentError(absl::StrCat(
          "text: ", text.size(), " bytes do not fit a QR code at this error-correction level"));
    }
    return absl::InternalError(absl::StrCat("libqrencode failed (errno ", errno, ")"));
  }
  QrMatrix m;
  m.version = code->version;
  m.size = code->width;
  m.dark.resize(static_cast<size_t>(m.size) * m.size);
  for (size_t i = 0; i < m.dark.size(); ++i) m.dark[i] = (code->data[i] & 1) != 0;
  return m;
}

}  // namespace ksef::qr
