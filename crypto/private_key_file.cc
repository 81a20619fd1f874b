#include "crypto/private_key_file.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "crypto/public_key.h"

namespace ksef::crypto {
namespace {

absl::Status Invalid(absl::string_view what) {
  ERR_clear_error();
  return absl::InvalidArgumentError(absl::StrCat("private key: ", what));
}

// OpenSSL pem_password_cb: copies the password into OpenSSL's buffer.
int PasswordCallback(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* password = static_cast<const SecureString*>(user);
  if (password == nullptr || password->empty()) return 0;
  if (password->size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, password->reveal().data(), password->size());
  return static_cast<int>(password->size());
}

absl::Status CheckKeyType(const EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(key) != 2048) {
      return Invalid(absl::StrCat("RSA keys must have 2048 bits (KSeF's rule), this one has ",
                                  EVP_PKEY_get_bits(key)));
    }
    return absl::OkStatus();
  }
  if (id == EVP_PKEY_EC) {
    if (!IsEcP256(key)) {
      return Invalid("EC keys must be on P-256 (prime256v1), KSeF's rule");
    }
    return absl::OkStatus();
  }
  return Invalid("only EC P-256 and RSA-2048 keys can be imported");
}

}  // namespace

absl::StatusOr<EvpPkeyPtr> DecodePrivateKeyFile(absl::string_view file,
                                                const SecureString& password) {
  if (file.empty()) return Invalid("the key file is empty");
  const bool pem = absl::StrContains(file, "-----BEGIN");
  const bool encrypted = absl::StrContains(file, "ENCRYPTED");
  if (pem && encrypted && password.empty()) {
    return Invalid(
        "the key file is encrypted: give its password (--password-file or --password-stdin)");
  }
  EvpPkeyPtr key;
  if (pem) {
    BioPtr bio(BIO_new_mem_buf(file.data(), static_cast<int>(file.size())));
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, &PasswordCallback,
                                      const_cast<SecureString*>(&password)));
  } else {
    std::string der;
    if (static_cast<unsigned char>(file[0]) == 0x30) {
      der = std::string(file);
    } else {
      std::string compact;
      for (char c : file) {
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact.push_back(c);
      }
      auto decoded = Base64Decode(compact);
      if (!decoded) return Invalid("the key file is neither PEM, DER nor Base64 DER");
      der = std::move(*decoded);
      OPENSSL_cleanse(compact.data(), compact.size());
    }
    // PKCS#8, encrypted or not.
    BioPtr bio(BIO_new_mem_buf(der.data(), static_cast<int>(der.size())));
    key.reset(d2i_PKCS8PrivateKey_bio(bio.get(), nullptr, &PasswordCallback,
                                      const_cast<SecureString*>(&password)));
    if (!key) {
      // Traditional DER (SEC1 ECPrivateKey, PKCS#1 RSAPrivateKey).
      const auto* p = reinterpret_cast<const unsigned char*>(der.data());
      key.reset(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
    }
    OPENSSL_cleanse(der.data(), der.size());
  }
  if (!key) {
    return Invalid(password.empty() ? "cannot read the key file (if it is encrypted, give its "
                                      "password)"
                                    : "cannot read the key file: wrong password or not a "
                                      "private key");
  }
  ERR_clear_error();
  absl::Status type = CheckKeyType(key.get());
  if (!type.ok()) return type;
  return key;
}

}  // namespace ksef::crypto
