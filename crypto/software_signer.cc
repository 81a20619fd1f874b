#include "crypto/software_signer.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "absl/strings/str_cat.h"
#include "common/ecdsa.h"
#include "crypto/public_key.h"

namespace ksef::crypto {
namespace {

absl::StatusOr<KeyAlgorithm> AlgorithmOf(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC")) {
    if (!IsEcP256(key)) return absl::InvalidArgumentError("EC key is not on P-256");
    return KeyAlgorithm::kEcP256;
  }
  if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) == 2048) return KeyAlgorithm::kRsa2048;
  return absl::InvalidArgumentError("key is neither EC P-256 nor RSA-2048");
}

// Sets up an EVP_PKEY_CTX for a raw-digest sign/verify operation per scheme.
absl::Status Configure(EVP_PKEY_CTX* ctx, SignatureScheme scheme) {
  if (scheme == SignatureScheme::kEcdsaSha256) return absl::OkStatus();
  int padding =
      scheme == SignatureScheme::kRsaPssSha256 ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
  if (EVP_PKEY_CTX_set_rsa_padding(ctx, padding) <= 0 ||
      EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0) {
    return absl::InternalError(OpenSslError("RSA parameters"));
  }
  if (scheme == SignatureScheme::kRsaPssSha256 &&
      (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32) <= 0)) {
    return absl::InternalError(OpenSslError("PSS parameters"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SoftwareSigner>> SoftwareSigner::FromPrivateKey(
    absl::string_view key) {
  BioPtr bio(BIO_new_mem_buf(key.data(), static_cast<int>(key.size())));
  EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) {
    const auto* p = reinterpret_cast<const unsigned char*>(key.data());
    pkey.reset(d2i_AutoPrivateKey(nullptr, &p, key.size()));
  }
  if (!pkey) return absl::InvalidArgumentError(OpenSslError("cannot parse private key"));
  auto algorithm = AlgorithmOf(pkey.get());
  if (!algorithm.ok()) return algorithm.status();
  auto spki = PublicKeyDerOf(pkey.get());
  if (!spki.ok()) return spki.status();
  return std::unique_ptr<SoftwareSigner>(
      new SoftwareSigner(std::move(pkey), *algorithm, std::move(*spki)));
}

absl::StatusOr<std::unique_ptr<SoftwareSigner>> SoftwareSigner::Generate(KeyAlgorithm algorithm) {
  EvpPkeyPtr pkey(algorithm == KeyAlgorithm::kEcP256 ? EVP_EC_gen("P-256")
                                                     : EVP_RSA_gen(2048));
  if (!pkey) return absl::InternalError(OpenSslError("key generation"));
  auto spki = PublicKeyDerOf(pkey.get());
  if (!spki.ok()) return spki.status();
  return std::unique_ptr<SoftwareSigner>(
      new SoftwareSigner(std::move(pkey), algorithm, std::move(*spki)));
}

SoftwareSigner::SoftwareSigner(EvpPkeyPtr key, KeyAlgorithm algorithm, std::string public_key_der)
    : key_(std::move(key)), algorithm_(algorithm), public_key_der_(std::move(public_key_der)) {}

absl::StatusOr<std::string> SoftwareSigner::SignDigest(SignatureScheme scheme,
                                                       absl::string_view digest) const {
  if (digest.size() != 32) return absl::InvalidArgumentError("a SHA-256 digest is 32 bytes");
  if ((scheme == SignatureScheme::kEcdsaSha256) != (algorithm_ == KeyAlgorithm::kEcP256)) {
    return absl::InvalidArgumentError("signature scheme does not fit the key");
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0) {
    return absl::InternalError(OpenSslError("EVP_PKEY_sign_init"));
  }
  absl::Status s = Configure(ctx.get(), scheme);
  if (!s.ok()) return s;
  const auto* in = reinterpret_cast<const unsigned char*>(digest.data());
  size_t len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &len, in, digest.size()) <= 0) {
    return absl::InternalError(OpenSslError("EVP_PKEY_sign"));
  }
  std::string sig(len, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                    digest.size()) <= 0) {
    return absl::InternalError(OpenSslError("EVP_PKEY_sign"));
  }
  sig.resize(len);
  if (scheme == SignatureScheme::kEcdsaSha256) return EcdsaDerToRaw(sig);
  return sig;
}

absl::Status VerifyDigestSignature(absl::string_view spki_der, SignatureScheme scheme,
                                   absl::string_view digest, absl::string_view signature) {
  const auto* p = reinterpret_cast<const unsigned char*>(spki_der.data());
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, spki_der.size()));
  if (!pkey) return absl::InvalidArgumentError("not a SubjectPublicKeyInfo");
  std::string sig(signature);
  if (scheme == SignatureScheme::kEcdsaSha256) {
    auto der = EcdsaRawToDer(signature);
    if (!der.ok()) return der.status();
    sig = *der;
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) <= 0) {
    return absl::InternalError(OpenSslError("EVP_PKEY_verify_init"));
  }
  absl::Status s = Configure(ctx.get(), scheme);
  if (!s.ok()) return s;
  int rc = EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                           sig.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                           digest.size());
  if (rc != 1) return absl::InvalidArgumentError(OpenSslError("signature does not verify"));
  return absl::OkStatus();
}

}  // namespace ksef::crypto
