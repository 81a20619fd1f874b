#include "crypto/signer.h"

namespace ksef::crypto {

const char* KeyAlgorithmName(KeyAlgorithm algorithm) {
  return algorithm == KeyAlgorithm::kEcP256 ? "EC_P256" : "RSA_2048";
}

}  // namespace ksef::crypto
