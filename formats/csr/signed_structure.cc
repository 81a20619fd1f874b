#include "formats/csr/signed_structure.h"

#include <openssl/evp.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/openssl_ptr.h"
#include "common/status_macros.h"
#include "formats/csr/asn1_der.h"

namespace ksef::csr {
namespace {

// ecdsa-with-SHA256 (1.2.840.10045.4.3.2), no parameters.
constexpr char kEcdsaWithSha256[] = "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02";
// sha256WithRSAEncryption (1.2.840.113549.1.1.11), NULL parameters.
constexpr char kSha256WithRsa[] = "\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00";

}  // namespace

absl::StatusOr<std::string> SignatureAlgorithmDer(crypto::KeyAlgorithm algorithm) {
  switch (algorithm) {
    case crypto::KeyAlgorithm::kEcP256:
      return std::string(kEcdsaWithSha256, sizeof(kEcdsaWithSha256) - 1);
    case crypto::KeyAlgorithm::kRsa2048:
      return std::string(kSha256WithRsa, sizeof(kSha256WithRsa) - 1);
  }
  return absl::InvalidArgumentError("signer: unsupported key algorithm");
}

absl::StatusOr<std::string> SignToBeSigned(std::string to_be_signed, const crypto::Signer& signer) {
  KSEF_ASSIGN_OR_RETURN(std::string algorithm_id, SignatureAlgorithmDer(signer.algorithm()));
  const bool ec = signer.algorithm() == crypto::KeyAlgorithm::kEcP256;
  const crypto::SignatureScheme scheme =
      ec ? crypto::SignatureScheme::kEcdsaSha256 : crypto::SignatureScheme::kRsaPkcs1Sha256;

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(to_be_signed.data(), to_be_signed.size(), digest, &digest_len, EVP_sha256(),
                 nullptr) != 1) {
    return absl::InternalError(OpenSslError("SHA-256"));
  }
  KSEF_ASSIGN_OR_RETURN(
      std::string signature,
      signer.SignDigest(scheme, absl::string_view(reinterpret_cast<char*>(digest), digest_len)));

  if (ec) {
    if (signature.size() != 64) {
      return absl::InternalError(
          absl::StrCat("signer returned ", signature.size(), " bytes, expected r||s of 64"));
    }
    const absl::string_view raw(signature);
    signature = DerTlv(kTagSequence,
                       DerUnsignedInteger(raw.substr(0, 32)) + DerUnsignedInteger(raw.substr(32)));
  } else if (signature.size() != 256) {
    return absl::InternalError(absl::StrCat("signer returned ", signature.size(),
                                            " bytes, expected a 256-byte RSA signature"));
  }
  std::string content = std::move(to_be_signed);
  content += algorithm_id;
  content += DerBitString(signature);
  return DerTlv(kTagSequence, content);
}

}  // namespace ksef::csr
