#include "tests/support/test_hsm.h"

#include "common/secure_string.h"

namespace ksef::testing {

absl::StatusOr<std::unique_ptr<pkcs11::Hsm>> OpenTestHsm(const TestToken& token) {
  pkcs11::HsmOptions o;
  o.module_path = TestToken::ModulePath();
  o.token_label = token.label();
  o.pin = SecureString(token.pin());
  o.token_store_dir = token.token_dir();
  return pkcs11::Hsm::Open(std::move(o));
}

}  // namespace ksef::testing
