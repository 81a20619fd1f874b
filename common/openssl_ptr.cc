#include "common/openssl_ptr.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace ksef {

std::string OpenSslError(absl::string_view what) {
  std::string out(what);
  unsigned long err;
  bool first = true;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&out, first ? ": " : "; ", buf);
    first = false;
  }
  return out;
}

}  // namespace ksef
