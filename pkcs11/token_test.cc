// Module loading, token selection, login and the session pool, on a real
// SoftHSM2 token.
#include "pkcs11/internal/token.h"

#include <gtest/gtest.h>

#include <thread>

#include "absl/synchronization/notification.h"
#include "pkcs11/internal/ck_status.h"
#include "pkcs11/internal/module.h"
#include "pkcs11/key_store.h"
#include "tests/support/softhsm_token.h"

namespace ksef::pkcs11 {

using crypto::KeyAlgorithm;
namespace {

class TokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto token = ksef::testing::TestToken::Create("token-test");
    ASSERT_TRUE(token.ok()) << token.status();
    test_token_ = token->release();
    auto module = Module::Load(ksef::testing::TestToken::ModulePath());
    ASSERT_TRUE(module.ok()) << module.status();
    module_ = module->release();
  }
  static void TearDownTestSuite() {
    delete module_;
    delete test_token_;
  }
  static ksef::testing::TestToken* test_token_;
  static Module* module_;
};
ksef::testing::TestToken* TokenTest::test_token_ = nullptr;
Module* TokenTest::module_ = nullptr;

TEST(ModuleTest, MissingModuleIsNotFoundWithHint) {
  auto m = Module::Load("/nonexistent/libpkcs11.so");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("/nonexistent/libpkcs11.so"), std::string::npos);
  EXPECT_NE(m.status().message().find("pkcs11_module"), std::string::npos);
}

TEST(ModuleTest, ALibraryThatIsNotPkcs11IsRefused) {
  auto m = Module::Load("/etc/hostname");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
}

// tpm2-pkcs11 keeps the PIN as the auth value of a sealed TPM object, so each
// wrong PIN counts against the TPM's dictionary-attack protection (swtpm: 3
// failures, then lockout for 1000 s). The service still tries each PIN once;
// the lockout is the TPM's and is reported as CKR_PIN_LOCKED, for the right
// PIN too, until it is cleared (docs/operations.md).
void ExpectWrongPinsTripTheTpmLockout(Module* module, const ksef::testing::TestToken& token) {
  const std::string wrong = "wrong-pin-4711";
  int refused = 0;
  absl::Status last;
  for (int i = 0; i < 12; ++i) {
    auto t = Token::Open(module, TokenSelector{token.label(), ""}, SecureString(wrong), 2);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().message().find(wrong), std::string::npos);
    last = t.status();
    if (last.code() != absl::StatusCode::kPermissionDenied) break;
    EXPECT_NE(last.message().find("CKR_PIN_INCORRECT"), std::string::npos) << last;
    ++refused;
  }
  EXPECT_EQ(refused, 3);  // swtpm's TPM2_PT_MAX_AUTH_FAIL
  EXPECT_EQ(last.code(), absl::StatusCode::kFailedPrecondition) << last;
  EXPECT_NE(last.message().find("CKR_PIN_LOCKED"), std::string::npos) << last;
  auto locked =
      Token::Open(module, TokenSelector{token.label(), ""}, SecureString(token.pin()), 2);
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.status().code(), absl::StatusCode::kFailedPrecondition) << locked.status();

  ASSERT_TRUE(token.ClearTpm2Lockout().ok());
  auto t = Token::Open(module, TokenSelector{token.label(), ""}, SecureString(token.pin()), 2);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE((*t)->usable());
  EXPECT_TRUE((*t)->CheckAndRecover().ok());
}

TEST_F(TokenTest, WrongPinIsRefusedNeverEchoedAndDoesNotLockTheToken) {
  if (ksef::testing::TestToken::IsTpm2()) {  // the TPM itself locks; see above
    ExpectWrongPinsTripTheTpmLockout(module_, *test_token_);
    return;
  }
  const std::string wrong = "wrong-pin-4711";
  for (int i = 0; i < 12; ++i) {  // more than any retry counter would allow
    auto t = Token::Open(module_, TokenSelector{test_token_->label(), ""}, SecureString(wrong), 2);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), absl::StatusCode::kPermissionDenied) << t.status();
    EXPECT_EQ(t.status().message().find(wrong), std::string::npos);
    EXPECT_NE(t.status().message().find("CKR_PIN_INCORRECT"), std::string::npos);
  }
  auto t = Token::Open(module_, TokenSelector{test_token_->label(), ""},
                       SecureString(test_token_->pin()), 2);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE((*t)->usable());
  EXPECT_TRUE((*t)->CheckAndRecover().ok());
}

TEST_F(TokenTest, UnknownLabelListsTheTokensThatExist) {
  auto t = Token::Open(module_, TokenSelector{"no-such-token", ""}, SecureString("1234"), 2);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find("no-such-token"), std::string::npos);
  EXPECT_NE(t.status().message().find(test_token_->label()), std::string::npos);
}

TEST_F(TokenTest, SelectBySerial) {
  CK_ULONG n = 0;
  module_->f()->C_GetSlotList(CK_TRUE, nullptr, &n);
  std::vector<CK_SLOT_ID> slots(n);
  module_->f()->C_GetSlotList(CK_TRUE, slots.data(), &n);
  std::string serial;
  for (CK_SLOT_ID s : slots) {
    CK_TOKEN_INFO info;
    module_->f()->C_GetTokenInfo(s, &info);
    if (TrimPadded(info.label, sizeof(info.label)) == test_token_->label()) {
      serial = TrimPadded(info.serialNumber, sizeof(info.serialNumber));
    }
  }
  ASSERT_FALSE(serial.empty());
  auto t = Token::Open(module_, TokenSelector{"ignored", serial},
                       SecureString(test_token_->pin()), 2);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->label(), test_token_->label());
}

CK_SLOT_ID SlotOf(Module* module, const std::string& label) {
  CK_ULONG n = 0;
  module->f()->C_GetSlotList(CK_TRUE, nullptr, &n);
  std::vector<CK_SLOT_ID> slots(n);
  module->f()->C_GetSlotList(CK_TRUE, slots.data(), &n);
  for (CK_SLOT_ID s : slots) {
    CK_TOKEN_INFO info;
    module->f()->C_GetTokenInfo(s, &info);
    if (TrimPadded(info.label, sizeof(info.label)) == label) return s;
  }
  return CK_INVALID_HANDLE;
}

TEST_F(TokenTest, SessionPoolIsBoundedAndReusesSessions) {
  SessionPool pool(module_->f(), SlotOf(module_, test_token_->label()), 2);
  pool.Reset(SlotOf(module_, test_token_->label()), 7);
  auto a = pool.Acquire(absl::Seconds(1));
  auto b = pool.Acquire(absl::Seconds(1));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->get(), b->get());
  EXPECT_EQ(a->generation(), 7u);
  auto c = pool.Acquire(absl::Milliseconds(50));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  CK_SESSION_HANDLE first = a->get();
  *a = SessionLease();  // returned to the pool
  auto d = pool.Acquire(absl::Milliseconds(50));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->get(), first);  // reused, not re-opened
}

TEST_F(TokenTest, SessionPoolStatsCountOpenLentAndWaiting) {
  CK_SLOT_ID slot = SlotOf(module_, test_token_->label());
  SessionPool pool(module_->f(), slot, 2);
  pool.Reset(slot, 1);
  auto a = pool.Acquire(absl::Seconds(1));
  auto b = pool.Acquire(absl::Seconds(1));
  ASSERT_TRUE(a.ok() && b.ok());
  SessionPoolStats stats = pool.Stats();
  EXPECT_EQ(stats.size, 2);
  EXPECT_EQ(stats.open, 2);
  EXPECT_EQ(stats.in_use, 2);
  EXPECT_EQ(stats.waiting, 0);
  absl::Notification acquired;
  std::thread waiter([&] {
    auto c = pool.Acquire(absl::Seconds(30));
    EXPECT_TRUE(c.ok()) << c.status();
    acquired.Notify();
  });
  while (pool.Stats().waiting != 1) absl::SleepFor(absl::Milliseconds(1));
  *a = SessionLease();  // the waiter takes it
  acquired.WaitForNotification();
  waiter.join();  // and has given it back
  stats = pool.Stats();
  EXPECT_EQ(stats.open, 2);
  EXPECT_EQ(stats.in_use, 1);
  EXPECT_EQ(stats.waiting, 0);
  pool.Reset(slot, 2);  // a new generation: nothing of the old one counts
  EXPECT_EQ(pool.Stats().open, 0);
  EXPECT_EQ(pool.Stats().in_use, 0);
  const CK_SESSION_HANDLE stale = b->get();
  *b = SessionLease();  // forgotten, never closed by number
  EXPECT_EQ(module_->f()->C_CloseSession(stale), CKR_OK);
}

TEST_F(TokenTest, ReconnectsCountEachNewGeneration) {
  auto t = Token::Open(module_, TokenSelector{test_token_->label(), ""},
                       SecureString(test_token_->pin()), 2);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->reconnects(), 0u);
  (*t)->ReportLost((*t)->generation());
  ASSERT_TRUE((*t)->CheckAndRecover().ok());
  EXPECT_EQ((*t)->reconnects(), 1u);
}

TEST_F(TokenTest, PoisonedSessionsAreClosedLostAndStaleOnesNeverAre) {
  CK_SLOT_ID slot = SlotOf(module_, test_token_->label());
  SessionPool pool(module_->f(), slot, 4);
  pool.Reset(slot, 1);
  auto poisoned = pool.Acquire(absl::Seconds(1));
  auto lost = pool.Acquire(absl::Seconds(1));
  auto stale = pool.Acquire(absl::Seconds(1));
  ASSERT_TRUE(poisoned.ok() && lost.ok() && stale.ok());
  CK_SESSION_HANDLE p = poisoned->get(), l = lost->get(), s = stale->get();
  poisoned->MarkPoisoned();
  lost->MarkLost();
  *poisoned = SessionLease();
  *lost = SessionLease();
  CK_SESSION_INFO info;
  EXPECT_EQ(module_->f()->C_GetSessionInfo(p, &info), CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(module_->f()->C_GetSessionInfo(l, &info), CKR_OK);  // dropped, not closed
  pool.Reset(slot, 2);  // a new generation: the outstanding lease is stale
  *stale = SessionLease();
  EXPECT_EQ(module_->f()->C_GetSessionInfo(s, &info), CKR_OK);  // never closed by number
  EXPECT_EQ(module_->f()->C_CloseSession(l), CKR_OK);
  EXPECT_EQ(module_->f()->C_CloseSession(s), CKR_OK);
}

TEST_F(TokenTest, AFailureOnAnOldGenerationDoesNotTearDownTheNewLogin) {
  auto t = Token::Open(module_, TokenSelector{test_token_->label(), ""},
                       SecureString(test_token_->pin()), 2);
  ASSERT_TRUE(t.ok()) << t.status();
  uint64_t old_generation = (*t)->generation();
  (*t)->ReportLost(old_generation);
  EXPECT_FALSE((*t)->usable());
  ASSERT_TRUE((*t)->CheckAndRecover().ok());
  EXPECT_TRUE((*t)->usable());
  EXPECT_GT((*t)->generation(), old_generation);
  (*t)->ReportLost(old_generation);  // a lease from before the reconnect fails late
  EXPECT_TRUE((*t)->usable());
}

TEST_F(TokenTest, ATokenWithoutTheRequiredKeyIsNotUsed) {
  auto t = Token::Open(module_, TokenSelector{test_token_->label(), ""},
                       SecureString(test_token_->pin()), 2);
  ASSERT_TRUE(t.ok()) << t.status();
  (*t)->RequireKey("no such CKA_ID!!");
  absl::Status s = (*t)->CheckAndRecover();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("audit key"), std::string::npos) << s;
  EXPECT_FALSE((*t)->usable());
  auto refused = (*t)->WithSession(ObjectAccess::kRead, [](Session&) { return absl::OkStatus(); });
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  (*t)->RequireKey("");
  EXPECT_TRUE((*t)->CheckAndRecover().ok());
}

TEST_F(TokenTest, ABusyPoolIsNoReasonToReconnect) {
  auto t = Token::Open(module_, TokenSelector{test_token_->label(), ""},
                       SecureString(test_token_->pin()), 1);
  ASSERT_TRUE(t.ok()) << t.status();
  KeyStore store(t->get(), "", 1);
  auto key = store.Generate(KeyAlgorithm::kEcP256, "probe-key");
  ASSERT_TRUE(key.ok()) << key.status();
  (*t)->RequireKey(key->id);
  const uint64_t generation = (*t)->generation();
  absl::Notification holding, release;
  std::thread busy([&] {
    (*t)->WithSession(ObjectAccess::kRead, [&](Session&) {
      holding.Notify();
      release.WaitForNotification();
      return absl::OkStatus();
    }).IgnoreError();
  });
  holding.WaitForNotification();
  EXPECT_TRUE((*t)->CheckAndRecover().ok());  // the probe finds no free session
  release.Notify();
  busy.join();
  EXPECT_EQ((*t)->generation(), generation) << "no reconnect for a busy pool";
  EXPECT_TRUE(store.Destroy(key->id).ok());
}

TEST(CkStatusTest, TableMapsCodes) {
  EXPECT_TRUE(CkStatus(CKR_OK, "x").ok());
  EXPECT_EQ(CkStatus(CKR_PIN_INCORRECT, "C_Login").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CkStatus(CKR_DEVICE_ERROR, "C_Sign").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CkStatus(CKR_KEY_HANDLE_INVALID, "C_SignInit").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CkStatus(CKR_SESSION_COUNT, "C_OpenSession").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CkStatus(CKR_PIN_LOCKED, "C_Login").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CkStatus(0x8000ABCDUL, "C_Foo").message(), "C_Foo: CKR_0x8000ABCD");
  EXPECT_TRUE(IsSessionLost(CKR_SESSION_HANDLE_INVALID));
  EXPECT_FALSE(IsSessionLost(CKR_PIN_INCORRECT));
}

}  // namespace
}  // namespace ksef::pkcs11
