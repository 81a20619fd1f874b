// How the CLI (and tests) turn what a user types into a KeyService `name`.
#ifndef KSEF_CLIENT_KEY_NAMES_H_
#define KSEF_CLIENT_KEY_NAMES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace ksef::client {

inline constexpr absl::string_view kKeyNamePrefix = "keys/";
inline constexpr absl::string_view kPkcs11UriScheme = "pkcs11:";

// "abc" -> "keys/abc". A name that contains '/' ("keys/abc") or is a PKCS#11
// URI ("pkcs11:token=...;id=%01") is returned unchanged, as is "" (the caller
// reports a missing name). Surrounding whitespace is removed.
std::string NormalizeKeyName(absl::string_view name);

}  // namespace ksef::client

#endif  // KSEF_CLIENT_KEY_NAMES_H_
