#include "tests/support/test_hsm.h"

#include "common/secure_string.h"

namespace ksef::testing {

absl::StatusOr<std::unique_ptr<hsm::Hsm>> OpenTestHsm(const TestToken& token) {
  hsm::HsmOptions o;
  o.module_path = TestToken::ModulePath();
  o.token_label = token.label();
  o.pin = SecureString(token.pin());
  o.token_store_dir = token.token_dir();
  return hsm::Hsm::Open(std::move(o));
}

}  // namespace ksef::testing
