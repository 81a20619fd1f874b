#include "formats/xades/digest.h"

#include <openssl/sha.h>

namespace ksef::xades {

std::string Sha256(absl::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof(md));
}

}  // namespace ksef::xades
