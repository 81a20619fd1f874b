#include "formats/xades/xades_certificate.h"

#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"

namespace ksef::xades {

XadesCertificate XadesCertificate::FromCertificate(const cert::CertificateInfo& info) {
  XadesCertificate out;
  out.der_base64 = Base64Encode(info.der);
  out.digest_base64 = Base64Encode(crypto::Sha256(info.der));
  out.issuer_name = info.issuer;
  out.serial_decimal = info.serial_decimal;
  out.public_key_der = info.public_key_der;
  return out;
}

absl::StatusOr<XadesCertificate> XadesCertificate::FromDer(absl::string_view der) {
  KSEF_ASSIGN_OR_RETURN(cert::CertificateInfo info, cert::ParseCertificateDer(der));
  return FromCertificate(info);
}

}  // namespace ksef::xades
