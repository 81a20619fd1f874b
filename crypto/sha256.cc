#include "crypto/sha256.h"

#include <openssl/sha.h>

#include "common/encoding.h"

namespace ksef::crypto {

std::string Sha256(absl::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof(md));
}

std::string Sha256Hex(absl::string_view data) { return HexUpper(Sha256(data)); }

}  // namespace ksef::crypto
