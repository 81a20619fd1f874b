#include "ksef/csr/csr_builder.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/openssl_ptr.h"
#include "common/status_macros.h"
#include "ksef/csr/asn1_der.h"
#include "ksef/csr/subject_name.h"

namespace ksef::csr {
namespace {

// AlgorithmIdentifier DER: ecdsa-with-SHA256 (1.2.840.10045.4.3.2), no params.
constexpr char kEcdsaWithSha256[] = "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02";
// sha256WithRSAEncryption (1.2.840.113549.1.1.11), NULL params.
constexpr char kSha256WithRsa[] = "\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00";

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
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &len) != 1 ||
        std::strcmp(group, "prime256v1") != 0) {
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

absl::StatusOr<std::string> BuildCsrDer(const EnrollmentData& data, const hsm::Signer& signer) {
  hsm::SignatureScheme scheme;
  absl::string_view algorithm_id;
  switch (signer.algorithm()) {
    case hsm::KeyAlgorithm::kEcP256:
      scheme = hsm::SignatureScheme::kEcdsaSha256;
      algorithm_id = absl::string_view(kEcdsaWithSha256, sizeof(kEcdsaWithSha256) - 1);
      break;
    case hsm::KeyAlgorithm::kRsa2048:
      scheme = hsm::SignatureScheme::kRsaPkcs1Sha256;
      algorithm_id = absl::string_view(kSha256WithRsa, sizeof(kSha256WithRsa) - 1);
      break;
    default:
      return absl::InvalidArgumentError("signer: unsupported key algorithm");
  }
  KSEF_ASSIGN_OR_RETURN(std::string cri,
                        BuildCertificationRequestInfoDer(data, signer.public_key_der()));

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(cri.data(), cri.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1) {
    return absl::InternalError(OpenSslError("SHA-256"));
  }
  KSEF_ASSIGN_OR_RETURN(
      std::string signature,
      signer.SignDigest(scheme, absl::string_view(reinterpret_cast<char*>(digest), digest_len)));

  if (scheme == hsm::SignatureScheme::kEcdsaSha256) {
    if (signature.size() != 64) {
      return absl::InternalError(
          absl::StrCat("signer returned ", signature.size(), " bytes, expected r||s of 64"));
    }
    const absl::string_view raw(signature);
    signature = DerTlv(kTagSequence,
                       DerUnsignedInteger(raw.substr(0, 32)) + DerUnsignedInteger(raw.substr(32)));
  } else if (signature.size() != 256) {
    return absl::InternalError(absl::StrCat("signer returned ", signature.size(),
                                            " bytes, expected a 256-byte RSA "
                                            "signature"));
  }

  std::string content = std::move(cri);
  content.append(algorithm_id.data(), algorithm_id.size());
  content += DerBitString(signature);
  return DerTlv(kTagSequence, content);
}

std::string CsrToBase64(absl::string_view csr_der) { return Base64Encode(csr_der); }

std::string CsrToPem(absl::string_view csr_der) {
  const std::string b64 = Base64Encode(csr_der);
  std::string pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    pem.append(b64, i, 64);
    pem.push_back('\n');
  }
  pem += "-----END CERTIFICATE REQUEST-----\n";
  return pem;
}

}  // namespace ksef::csr
