#include "crypto/public_key.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

#include "common/openssl_ptr.h"

namespace ksef::crypto {
namespace {

// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) }
// followed by the 65-byte uncompressed point (RFC 5480).
constexpr char kP256SpkiPrefix[] =
    "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"
    "\x03\x42\x00";

}  // namespace

bool IsEcP256(const EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[64] = {};
  size_t len = 0;
  return EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1 &&
         std::strcmp(group, "prime256v1") == 0;
}

absl::StatusOr<std::string> PublicKeyDerOf(const EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(const_cast<EVP_PKEY*>(key), &der);
  if (len <= 0) return absl::InternalError(OpenSslError("public key encoding"));
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> EcP256SpkiFromPoint(absl::string_view point) {
  if (point.size() != 65 || point[0] != 0x04) {
    return absl::InvalidArgumentError("not an uncompressed P-256 point");
  }
  std::string der(kP256SpkiPrefix, sizeof(kP256SpkiPrefix) - 1);
  der.append(point.data(), point.size());
  // Parse it back: proves the point is on the curve.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, der.size()));
  if (pkey == nullptr) return absl::InvalidArgumentError(OpenSslError("EC point not on P-256"));
  return der;
}

absl::StatusOr<std::string> RsaSpkiFromModulus(absl::string_view modulus,
                                               absl::string_view exponent) {
  BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus.data()), modulus.size(),
                        nullptr));
  BignumPtr e(BN_bin2bn(reinterpret_cast<const unsigned char*>(exponent.data()), exponent.size(),
                        nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>> bld(
      OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get())) {
    return absl::InternalError(OpenSslError("RSA params"));
  }
  std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM, OSSL_PARAM_free>> params(
      OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return absl::InvalidArgumentError(OpenSslError("RSA public key"));
  }
  EvpPkeyPtr pkey(raw);
  return PublicKeyDerOf(pkey.get());
}

absl::StatusOr<std::string> SpkiToPem(absl::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, der.size()));
  if (!pkey) return absl::InvalidArgumentError(OpenSslError("not a SubjectPublicKeyInfo"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) {
    return absl::InternalError(OpenSslError("PEM_write_bio_PUBKEY"));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

}  // namespace ksef::crypto
