#include "common/ecdsa.h"

#include <openssl/ecdsa.h>

#include "common/openssl_ptr.h"

namespace ksef {

absl::StatusOr<std::string> EcdsaRawToDer(absl::string_view raw) {
  if (raw.size() != 64) return absl::InvalidArgumentError("r||s must be 64 bytes");
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return absl::InternalError(OpenSslError("ECDSA_SIG"));
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  std::string der(len, '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig.get(), &p);
  return der;
}

absl::StatusOr<std::string> EcdsaDerToRaw(absl::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, der.size()));
  if (!sig) return absl::InvalidArgumentError("not a DER ECDSA-Sig-Value");
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + 32, 32) != 32) {
    return absl::InvalidArgumentError("ECDSA r or s longer than 32 bytes");
  }
  return raw;
}

absl::Status VerifyEcdsaSha256Raw(absl::string_view spki_der, absl::string_view digest,
                                 absl::string_view raw_signature) {
  const auto* p = reinterpret_cast<const unsigned char*>(spki_der.data());
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_EC) {
    return absl::InvalidArgumentError("not an EC SubjectPublicKeyInfo");
  }
  if (digest.size() != 32) return absl::InvalidArgumentError("digest must be 32 bytes");
  auto der = EcdsaRawToDer(raw_signature);
  if (!der.ok()) return der.status();
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) <= 0) {
    return absl::InternalError(OpenSslError("EVP_PKEY_verify_init"));
  }
  if (EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(der->data()), der->size(),
                      reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1) {
    return absl::InvalidArgumentError(OpenSslError("signature does not verify"));
  }
  return absl::OkStatus();
}

}  // namespace ksef
