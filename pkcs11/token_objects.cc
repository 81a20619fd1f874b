#include "pkcs11/internal/token_objects.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include <cstring>

#include "absl/status/status.h"
#include "common/openssl_ptr.h"
#include "pkcs11/internal/objects.h"
#include "pkcs11/internal/public_key.h"

namespace ksef::pkcs11 {
namespace {

// A BIGNUM parameter of the key as big-endian bytes, left-padded to `width`
// (0 = minimal). Wipes the BIGNUM.
bool GetParam(const EVP_PKEY* key, const char* name, size_t width, std::string* out) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1 || bn == nullptr) return false;
  const size_t len = width != 0 ? width : static_cast<size_t>(BN_num_bytes(bn));
  out->assign(len, '\0');
  const bool ok = BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out->data()),
                               static_cast<int>(len)) == static_cast<int>(len);
  BN_clear_free(bn);
  return ok;
}

}  // namespace

ImportTemplates::~ImportTemplates() {
  for (std::string& s : secrets_) OPENSSL_cleanse(s.data(), s.size());
}

absl::Status ImportTemplates::Fill(const EVP_PKEY* key, const std::string& label,
                                   const std::string& id) {
  id_ = id;
  label_ = label;
  priv = {Attr(CKA_CLASS, &priv_class_), Attr(CKA_KEY_TYPE, &key_type_),
          Attr(CKA_TOKEN, &yes_),        Attr(CKA_PRIVATE, &yes_),
          Attr(CKA_SENSITIVE, &yes_),    Attr(CKA_EXTRACTABLE, &no_),
          Attr(CKA_SIGN, &yes_),         Attr(CKA_DECRYPT, &no_),
          Attr(CKA_UNWRAP, &no_),        Attr(CKA_DERIVE, &no_),
          BytesAttr(CKA_ID, id_),        BytesAttr(CKA_LABEL, label_)};
  pub = {Attr(CKA_CLASS, &pub_class_), Attr(CKA_KEY_TYPE, &key_type_), Attr(CKA_TOKEN, &yes_),
         Attr(CKA_PRIVATE, &no_),      Attr(CKA_VERIFY, &yes_),         Attr(CKA_ENCRYPT, &no_),
         Attr(CKA_WRAP, &no_),         BytesAttr(CKA_ID, id_),          BytesAttr(CKA_LABEL, label_)};
  const int base = EVP_PKEY_get_base_id(key);
  if (base == EVP_PKEY_EC) {
    key_type_ = CKK_EC;
    ec_params_.assign(kP256EcParams, kP256EcParamsSize);
    std::string x, y;
    secrets_.resize(1);
    if (!GetParam(key, OSSL_PKEY_PARAM_PRIV_KEY, 32, &secrets_[0]) ||
        !GetParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32, &x) ||
        !GetParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32, &y)) {
      return absl::InvalidArgumentError(OpenSslError("private key: unreadable EC key"));
    }
    // DER OCTET STRING (04 41) around the uncompressed point (04 || x || y).
    ec_point_ = std::string("\x04\x41\x04", 3) + x + y;
    priv.push_back(BytesAttr(CKA_EC_PARAMS, ec_params_));
    priv.push_back(BytesAttr(CKA_VALUE, secrets_[0]));
    pub.push_back(BytesAttr(CKA_EC_PARAMS, ec_params_));
    pub.push_back(BytesAttr(CKA_EC_POINT, ec_point_));
    return absl::OkStatus();
  }
  if (base == EVP_PKEY_RSA) {
    key_type_ = CKK_RSA;
    const struct {
      const char* param;
      CK_ATTRIBUTE_TYPE type;
    } parts[] = {{OSSL_PKEY_PARAM_RSA_D, CKA_PRIVATE_EXPONENT},
                 {OSSL_PKEY_PARAM_RSA_FACTOR1, CKA_PRIME_1},
                 {OSSL_PKEY_PARAM_RSA_FACTOR2, CKA_PRIME_2},
                 {OSSL_PKEY_PARAM_RSA_EXPONENT1, CKA_EXPONENT_1},
                 {OSSL_PKEY_PARAM_RSA_EXPONENT2, CKA_EXPONENT_2},
                 {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, CKA_COEFFICIENT}};
    if (!GetParam(key, OSSL_PKEY_PARAM_RSA_N, 0, &modulus_) ||
        !GetParam(key, OSSL_PKEY_PARAM_RSA_E, 0, &exponent_)) {
      return absl::InvalidArgumentError(OpenSslError("private key: unreadable RSA key"));
    }
    secrets_.resize(std::size(parts));
    for (size_t i = 0; i < std::size(parts); ++i) {
      if (!GetParam(key, parts[i].param, 0, &secrets_[i])) {
        return absl::InvalidArgumentError(
            OpenSslError("private key: RSA key without CRT components"));
      }
    }
    priv.push_back(BytesAttr(CKA_MODULUS, modulus_));
    priv.push_back(BytesAttr(CKA_PUBLIC_EXPONENT, exponent_));
    for (size_t i = 0; i < std::size(parts); ++i) {
      priv.push_back(BytesAttr(parts[i].type, secrets_[i]));
    }
    pub.push_back(BytesAttr(CKA_MODULUS, modulus_));
    pub.push_back(BytesAttr(CKA_PUBLIC_EXPONENT, exponent_));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("private key: only EC P-256 and RSA-2048 keys");
}

absl::StatusOr<CertificateAttributes> ReadCertificateAttributes(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x509 || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError(OpenSslError("certificate: not one DER X.509 certificate"));
  }
  CertificateAttributes out;
  auto name_der = [](const X509_NAME* name, std::string* dst) {
    const unsigned char* bytes = nullptr;
    size_t len = 0;
    if (X509_NAME_get0_der(const_cast<X509_NAME*>(name), &bytes, &len) != 1) return false;
    dst->assign(reinterpret_cast<const char*>(bytes), len);
    return true;
  };
  if (!name_der(X509_get_subject_name(x509.get()), &out.subject) ||
      !name_der(X509_get_issuer_name(x509.get()), &out.issuer)) {
    return absl::InvalidArgumentError("certificate: unreadable subject or issuer");
  }
  unsigned char* serial = nullptr;
  int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x509.get()), &serial);
  if (len <= 0) return absl::InvalidArgumentError("certificate: unreadable serial number");
  out.serial.assign(reinterpret_cast<char*>(serial), static_cast<size_t>(len));
  OPENSSL_free(serial);
  return out;
}

}  // namespace ksef::pkcs11
