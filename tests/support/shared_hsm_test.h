// SharedHsmTest: a GoogleTest fixture whose tests share one throwaway
// SoftHSM2 token and one pkcs11::Hsm opened on it the way the server opens it
// (a token is slow to make, so one per suite). A derived fixture calls
// OpenSharedHsm(label) from its SetUpTestSuite() and CloseSharedHsm() from
// its TearDownTestSuite(); suites of one binary run one after another, so
// they may all derive from it.
#ifndef KSEF_TESTS_SUPPORT_SHARED_HSM_TEST_H_
#define KSEF_TESTS_SUPPORT_SHARED_HSM_TEST_H_

#include <gtest/gtest.h>

#include <string>

#include "pkcs11/hsm.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/test_hsm.h"

namespace ksef::testing {

class SharedHsmTest : public ::testing::Test {
 public:
  static const std::string& TokenLabel() { return token_->label(); }
  static const std::string& TokenPin() { return token_->pin(); }

 protected:
  static void OpenSharedHsm(const std::string& label) {
    auto token = TestToken::Create(label);
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = token->release();
    auto h = OpenTestHsm(*token_);
    ASSERT_TRUE(h.ok()) << h.status();
    hsm_ = h->release();
  }
  static void CloseSharedHsm() {
    delete hsm_;
    hsm_ = nullptr;
    delete token_;
    token_ = nullptr;
  }

  inline static TestToken* token_ = nullptr;
  inline static pkcs11::Hsm* hsm_ = nullptr;
};

}  // namespace ksef::testing

#endif  // KSEF_TESTS_SUPPORT_SHARED_HSM_TEST_H_
