// SHA-256 for the XAdES code. Pure; thread-safe.
#ifndef KSEF_FORMATS_XADES_DIGEST_H_
#define KSEF_FORMATS_XADES_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ksef::xades {

// The 32-byte SHA-256 of `data`.
std::string Sha256(absl::string_view data);

}  // namespace ksef::xades

#endif  // KSEF_FORMATS_XADES_DIGEST_H_
