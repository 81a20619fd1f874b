#include "client/key_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ksef::client {

std::string NormalizeKeyName(absl::string_view name) {
  name = absl::StripAsciiWhitespace(name);
  if (name.empty() || absl::StrContains(name, '/') ||
      absl::StartsWithIgnoreCase(name, kPkcs11UriScheme)) {
    return std::string(name);
  }
  return absl::StrCat(kKeyNamePrefix, name);
}

}  // namespace ksef::client
