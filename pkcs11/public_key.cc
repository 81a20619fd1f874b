#include "pkcs11/internal/public_key.h"

#include "crypto/public_key.h"

namespace ksef::pkcs11 {

const char kP256EcParams[] = "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07";
const size_t kP256EcParamsSize = sizeof(kP256EcParams) - 1;

absl::StatusOr<std::string> EcP256SpkiFromEcPoint(absl::string_view ec_point) {
  absl::string_view point = ec_point;
  // DER OCTET STRING of 65 bytes: 04 41 <point> (PKCS#11 2.40 section 2.3.3).
  if (point.size() == 67 && point[0] == 0x04 && point[1] == 0x41) point.remove_prefix(2);
  if (point.size() != 65 || point[0] != 0x04) {
    return absl::InvalidArgumentError("CKA_EC_POINT is not an uncompressed P-256 point");
  }
  return crypto::EcP256SpkiFromPoint(point);
}

}  // namespace ksef::pkcs11
