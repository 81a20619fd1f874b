// Reading a bring-your-own private key file (the .key the KSeF web app hands
// out beside its .crt) into memory just long enough to import it into the
// token. OpenSSL wipes the key's memory when the EVP_PKEY is freed.
// Pure; thread-safe.
#ifndef KSEF_CRYPTO_PRIVATE_KEY_FILE_H_
#define KSEF_CRYPTO_PRIVATE_KEY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/openssl_ptr.h"
#include "common/secure_string.h"

namespace ksef::crypto {

// Accepts encrypted or plain PKCS#8 (PEM or DER, or Base64 of the DER) and
// traditional PEM ("EC PRIVATE KEY", "RSA PRIVATE KEY", also encrypted).
// Only EC P-256 and RSA-2048 keys (what KSeF certifies). INVALID_ARGUMENT
// "private key: ..." for an unreadable file, a missing or wrong password, or
// another key type; the message never contains key bytes or the password.
absl::StatusOr<EvpPkeyPtr> DecodePrivateKeyFile(absl::string_view file,
                                                const SecureString& password);

}  // namespace ksef::crypto

#endif  // KSEF_CRYPTO_PRIVATE_KEY_FILE_H_
