// OpenTestHsm: the HSM facade over a TestToken, opened the way the server
// opens it (module, login, session pool, store dir synced after changes).
#ifndef KSEF_TESTS_SUPPORT_TEST_HSM_H_
#define KSEF_TESTS_SUPPORT_TEST_HSM_H_

#include <memory>

#include "absl/status/statusor.h"
#include "pkcs11/hsm.h"
#include "tests/support/softhsm_token.h"

namespace ksef::testing {

absl::StatusOr<std::unique_ptr<pkcs11::Hsm>> OpenTestHsm(const TestToken& token);

}  // namespace ksef::testing

#endif  // KSEF_TESTS_SUPPORT_TEST_HSM_H_
