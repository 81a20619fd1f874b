#include "formats/csr/csr_builder.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/openssl_ptr.h"
#include "common/status_macros.h"
#include "crypto/public_key.h"
#include "formats/csr/asn1_der.h"
#include "formats/csr/signed_structure.h"
#include "formats/csr/subject_name.h"

namespace ksef::csr {
namespace {

absl::Status CheckSpki(absl::string_view spki_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(spki_der.data());
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!key || p != reinterpret_cast<const unsigned char*>(spki_der.data()) + spki_der.size()) {
    return absl::InvalidArgumentError(OpenSslError("public key: not a DER SubjectPublicKeyInfo"));
  }
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(key.get()) != 2048) {
      return absl::InvalidArgumentError(
          absl::StrCat("public key: RSA must be 2048 bits, got ", EVP_PKEY_get_bits(key.get())));
    }
    return absl::OkStatus();
  }
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC) {
    if (!crypto::IsEcP256(key.get())) {
      return absl::InvalidArgumentError("public key: EC key must be on P-256 (prime256v1)");
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("public key: KSeF accepts only EC P-256 or RSA-2048");
}

}  // namespace

absl::StatusOr<std::string> BuildCertificationRequestInfoDer(const EnrollmentData& data,
                                                             absl::string_view spki_der) {
  KSEF_ASSIGN_OR_RETURN(std::string name, BuildSubjectNameDer(data));
  KSEF_RETURN_IF_ERROR(CheckSpki(spki_der));
  std::string content = DerUnsignedInteger(absl::string_view());  // version v1(0)
  content += name;
  content.append(spki_der.data(), spki_der.size());
  content += DerTlv(kTagContext0Constructed, "");
  return DerTlv(kTagSequence, content);
}

absl::StatusOr<std::string> BuildCsrDer(const EnrollmentData& data, const crypto::Signer& signer) {
  KSEF_ASSIGN_OR_RETURN(std::string cri,
                        BuildCertificationRequestInfoDer(data, signer.public_key_der()));
  return SignToBeSigned(std::move(cri), signer);
}

std::string CsrToBase64(absl::string_view csr_der) { return Base64Encode(csr_der); }

std::string CsrToPem(absl::string_view csr_der) {
  return PemArmor("CERTIFICATE REQUEST", csr_der);
}

}  // namespace ksef::csr
