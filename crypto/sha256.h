// SHA-256, the one home for it (XAdES digests, KSeF QR links, fingerprints of
// public keys and signed documents in the audit log). Pure; thread-safe.
#ifndef KSEF_CRYPTO_SHA256_H_
#define KSEF_CRYPTO_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ksef::crypto {

// The 32-byte SHA-256 of `data`.
std::string Sha256(absl::string_view data);

// The SHA-256 of `data` as 64 uppercase hex digits (as KSeF writes
// fingerprints).
std::string Sha256Hex(absl::string_view data);

}  // namespace ksef::crypto

#endif  // KSEF_CRYPTO_SHA256_H_
