// PKCS#11 templates for objects ksef-hsm creates from outside data: an
// imported private key (and its public key), and a certificate. Internal to
// pkcs11/.
#ifndef KSEF_PKCS11_INTERNAL_TOKEN_OBJECTS_H_
#define KSEF_PKCS11_INTERNAL_TOKEN_OBJECTS_H_

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pkcs11/internal/pkcs11_api.h"

namespace ksef::pkcs11 {

// Templates for C_CreateObject of a key pair being imported. The attribute
// pointers point into this object (not copyable, not movable); the private
// components are wiped on destruction.
class ImportTemplates {
 public:
  ImportTemplates() = default;
  ImportTemplates(const ImportTemplates&) = delete;
  ImportTemplates& operator=(const ImportTemplates&) = delete;
  ~ImportTemplates();

  // Private key: CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true; CKA_EXTRACTABLE,
  // CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE false; CKA_SIGN true (design.md 3).
  // EC P-256: CKA_EC_PARAMS + CKA_VALUE; public key CKA_EC_POINT as a DER
  // OCTET STRING of the uncompressed point. RSA-2048: all CRT components.
  // INVALID_ARGUMENT for other keys.
  absl::Status Fill(const EVP_PKEY* key, const std::string& label, const std::string& id);

  std::vector<CK_ATTRIBUTE> priv;
  std::vector<CK_ATTRIBUTE> pub;

 private:
  std::string id_, label_, ec_params_, ec_point_;
  std::vector<std::string> secrets_;  // private components, big-endian
  std::string modulus_, exponent_;
  CK_OBJECT_CLASS priv_class_ = CKO_PRIVATE_KEY, pub_class_ = CKO_PUBLIC_KEY;
  CK_KEY_TYPE key_type_ = CKK_EC;
  CK_BBOOL yes_ = CK_TRUE, no_ = CK_FALSE;
};

// What CKA_SUBJECT, CKA_ISSUER and CKA_SERIAL_NUMBER hold for a certificate.
struct CertificateAttributes {
  std::string subject;  // DER Name
  std::string issuer;   // DER Name
  std::string serial;   // DER INTEGER
};

// INVALID_ARGUMENT if `der` is not one DER X.509 certificate.
absl::StatusOr<CertificateAttributes> ReadCertificateAttributes(const std::string& der);

}  // namespace ksef::pkcs11

#endif  // KSEF_PKCS11_INTERNAL_TOKEN_OBJECTS_H_
