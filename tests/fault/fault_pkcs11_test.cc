// fault_pkcs11_test: each device behaviour of libksef_fault_pkcs11.so
// (tests/fault/fault_pkcs11.cc), shown with raw PKCS#11 calls against a real
// SoftHSM2 2.6.1 token behind it. The module is dlopen'ed from the build tree
// (KSEF_FAULT_PKCS11_PATH, a compile definition); every test initializes it,
// logs in, generates its own EC P-256 key pair (token objects, so they survive
// closed sessions) and finalizes it again, so C_Finalize + C_Initialize in one
// process is exercised between every two tests.
//
// What SoftHSM2 2.6.1 answers, as these tests pin it (the facts the session
// layer in pkcs11/ has to live with):
//  * Session and object handles come from one counter per C_Initialize: after
//    C_CloseAllSessions the old session handles are CKR_SESSION_HANDLE_INVALID
//    and new sessions get new numbers; after C_Finalize + C_Initialize the
//    numbering restarts at 1, so a stale session handle can name a new,
//    not-logged-in session, and object handles change.
//  * C_CloseAllSessions logs the token out (a new session is
//    CKS_RW_PUBLIC_SESSION).
//  * After a logout (C_Logout, or C_CloseAllSessions) the private key's cached
//    handle is dead: C_SignInit returns CKR_OBJECT_HANDLE_INVALID, also after
//    a new C_Login. Finding the key again gives a new handle that works.
//  * C_Sign into a too small buffer returns CKR_BUFFER_TOO_SMALL with the
//    length (64 for P-256) and keeps the operation active: C_SignInit on that
//    session returns CKR_OPERATION_ACTIVE until a C_Sign completes it.
//  * C_Initialize when initialized returns CKR_CRYPTOKI_ALREADY_INITIALIZED.
//
// Layering exception (docs/architecture.md): a PKCS#11 module and its test
// include the PKCS#11 C header directly; never pkcs11/internal/.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/ecdsa.h"
#include "gtest/gtest.h"
#include "tests/support/softhsm_token.h"

namespace {

using ksef::testing::TestToken;

// P-256 (prime256v1) as CKA_EC_PARAMS, and the SPKI prefix for its point.
const CK_BYTE kP256Params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
const std::string kP256SpkiPrefix(
    "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"
    "\x03\x42\x00",
    26);
const std::string kDigest(32, '\x5a');  // stands for a SHA-256 digest

// The fault module, loaded once per process (never unloaded).
CK_FUNCTION_LIST_PTR LoadFaultModule() {
  void* handle = ::dlopen(KSEF_FAULT_PKCS11_PATH, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) return nullptr;
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR list = nullptr;
  return get != nullptr && get(&list) == CKR_OK ? list : nullptr;
}

CK_RV InitializeModule(CK_FUNCTION_LIST_PTR p11) {
  CK_C_INITIALIZE_ARGS args = {};
  args.flags = CKF_OS_LOCKING_OK;
  return p11->C_Initialize(&args);
}

class FaultPkcs11Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto token = TestToken::Create("fault-test");  // sets SOFTHSM2_CONF
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = std::move(*token);
    ::setenv("KSEF_FAULT_PKCS11_MODULE", TestToken::ModulePath().c_str(), 1);
    p11_ = LoadFaultModule();
    ASSERT_NE(p11_, nullptr) << "cannot load " << KSEF_FAULT_PKCS11_PATH << ": " << ::dlerror();
  }
  static void TearDownTestSuite() { token_.reset(); }

  // A fresh control directory, the module initialized, session s1_ logged in,
  // session s2_ beside it, and this test's key pair.
  void SetUp() override {
    ASSERT_NE(p11_, nullptr);
    dir_ = ksef::testing::MakeTempDir("ksef-fault-dir");
    ASSERT_FALSE(dir_.empty());
    ::setenv("KSEF_FAULT_PKCS11_DIR", dir_.c_str(), 1);
    ASSERT_EQ(InitializeModule(p11_), CKR_OK);
    ASSERT_EQ(Slot(&slot_), CKR_OK);
    ASSERT_EQ(Open(&s1_), CKR_OK);
    ASSERT_EQ(Open(&s2_), CKR_OK);
    ASSERT_EQ(Login(s1_), CKR_OK);
    label_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_NO_FATAL_FAILURE(GenerateKeyPair());
  }

  // Ends every mode and finalizes, whatever the test left behind.
  void TearDown() override {
    for (const char* name : {"outage", "invalidate-sessions", "logout", "remove", "sign-latency-us",
                             "attribute-latency-us", "buffer-too-small"}) {
      ::unlink(Control(name).c_str());
    }
    if (p11_ != nullptr) {
      EXPECT_EQ(p11_->C_Finalize(nullptr), CKR_OK);
    }
    ::unsetenv("KSEF_FAULT_PKCS11_DIR");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Control(const std::string& name) const { return dir_ + "/" + name; }
  void Touch(const std::string& name, const std::string& content = "") const {
    std::ofstream(Control(name)) << content;
  }
  bool Exists(const std::string& name) const {
    struct stat st;
    return ::stat(Control(name).c_str(), &st) == 0;
  }
  // The lines of events.log.
  std::vector<std::string> Events() const {
    std::ifstream in(Control("events.log"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  size_t CountEvents(const std::string& event) const {
    const std::vector<std::string> lines = Events();
    return std::count(lines.begin(), lines.end(), event);
  }

  // The first slot with a token.
  CK_RV Slot(CK_SLOT_ID* slot) const {
    CK_SLOT_ID slots[8];
    CK_ULONG count = 8;
    const CK_RV rv = p11_->C_GetSlotList(CK_TRUE, slots, &count);
    if (rv != CKR_OK) return rv;
    if (count == 0) return CKR_TOKEN_NOT_PRESENT;
    *slot = slots[0];
    return CKR_OK;
  }
  CK_RV Open(CK_SESSION_HANDLE* session) const {
    return p11_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                               session);
  }
  CK_RV Login(CK_SESSION_HANDLE session) const {
    const std::string& pin = token_->pin();
    return p11_->C_Login(session, CKU_USER,
                         reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())),
                         pin.size());
  }
  // The session's state (CKS_*), or ~0 with the failure in *rv.
  CK_STATE State(CK_SESSION_HANDLE session, CK_RV* rv = nullptr) const {
    CK_SESSION_INFO info = {};
    const CK_RV r = p11_->C_GetSessionInfo(session, &info);
    if (rv != nullptr) *rv = r;
    return r == CKR_OK ? info.state : ~CK_STATE(0);
  }

  // A token key pair labelled with the test's name; keeps the private key's
  // handle in key_ and the public key as SPKI in spki_.
  void GenerateKeyPair() {
    CK_BBOOL yes = CK_TRUE;
    CK_BYTE* label = reinterpret_cast<CK_BYTE*>(label_.data());
    CK_ATTRIBUTE pub[] = {{CKA_EC_PARAMS, const_cast<CK_BYTE*>(kP256Params), sizeof(kP256Params)},
                          {CKA_TOKEN, &yes, sizeof(yes)},
                          {CKA_VERIFY, &yes, sizeof(yes)},
                          {CKA_LABEL, label, label_.size()}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                           {CKA_PRIVATE, &yes, sizeof(yes)},
                           {CKA_SENSITIVE, &yes, sizeof(yes)},
                           {CKA_SIGN, &yes, sizeof(yes)},
                           {CKA_LABEL, label, label_.size()}};
    CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE pub_key = 0;
    ASSERT_EQ(p11_->C_GenerateKeyPair(s1_, &gen, pub, 4, priv, 5, &pub_key, &key_), CKR_OK);
    CK_BYTE point[80];
    CK_ATTRIBUTE attr = {CKA_EC_POINT, point, sizeof(point)};
    ASSERT_EQ(p11_->C_GetAttributeValue(s1_, pub_key, &attr, 1), CKR_OK);
    ASSERT_EQ(attr.ulValueLen, 67u);  // OCTET STRING (65) { 04 || X || Y }
    spki_ = kP256SpkiPrefix + std::string(reinterpret_cast<char*>(point) + 2, 65);
  }

  // This test's private key as the session sees it: its handle, or 0 if
  // the session cannot see it (*rv: the first failing call).
  CK_OBJECT_HANDLE FindKey(CK_SESSION_HANDLE session, CK_RV* rv = nullptr) const {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    std::string label = label_;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, label.data(), label.size()}};
    CK_OBJECT_HANDLE found = 0;
    CK_ULONG count = 0;
    CK_RV r = p11_->C_FindObjectsInit(session, tmpl, 2);
    if (r == CKR_OK) {
      r = p11_->C_FindObjects(session, &found, 1, &count);
      p11_->C_FindObjectsFinal(session);
    }
    if (rv != nullptr) *rv = r;
    return r == CKR_OK && count == 1 ? found : 0;
  }

  // CKM_ECDSA over kDigest: C_SignInit + C_Sign into a 64-byte buffer.
  CK_RV Sign(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, std::string* sig) const {
    CK_MECHANISM ecdsa = {CKM_ECDSA, nullptr, 0};
    CK_RV rv = p11_->C_SignInit(session, &ecdsa, key);
    if (rv != CKR_OK) return rv;
    CK_BYTE out[64];
    CK_ULONG len = sizeof(out);
    std::string digest = kDigest;
    rv = p11_->C_Sign(session, reinterpret_cast<CK_BYTE_PTR>(digest.data()), digest.size(), out,
                      &len);
    if (rv == CKR_OK && sig != nullptr) sig->assign(reinterpret_cast<char*>(out), len);
    return rv;
  }

  // Signs and checks the signature with OpenSSL against the public key.
  ::testing::AssertionResult SignsAndVerifies(CK_SESSION_HANDLE session,
                                              CK_OBJECT_HANDLE key) const {
    std::string sig;
    const CK_RV rv = Sign(session, key, &sig);
    if (rv != CKR_OK) return ::testing::AssertionFailure() << "sign: CKR 0x" << std::hex << rv;
    const absl::Status verified = ksef::VerifyEcdsaSha256Raw(spki_, kDigest, sig);
    if (!verified.ok()) return ::testing::AssertionFailure() << verified;
    return ::testing::AssertionSuccess();
  }

  // Every call that reaches the device fails as if it had been unplugged.
  void ExpectRemoved(CK_SESSION_HANDLE session) const {
    CK_ULONG count = 8;
    CK_SLOT_ID slots[8];
    EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, slots, &count), CKR_OK);
    EXPECT_EQ(count, 0u) << "no slot with a token";
    CK_SLOT_INFO slot_info = {};
    EXPECT_EQ(p11_->C_GetSlotInfo(slot_, &slot_info), CKR_OK);
    EXPECT_EQ(slot_info.flags & CKF_TOKEN_PRESENT, 0u);
    CK_TOKEN_INFO token_info;
    EXPECT_EQ(p11_->C_GetTokenInfo(slot_, &token_info), CKR_TOKEN_NOT_PRESENT);
    CK_SESSION_HANDLE fresh = 0;
    EXPECT_EQ(Open(&fresh), CKR_TOKEN_NOT_PRESENT);
    CK_RV rv = CKR_OK;
    State(session, &rv);
    EXPECT_EQ(rv, CKR_DEVICE_REMOVED);
    EXPECT_EQ(Sign(session, key_, nullptr), CKR_DEVICE_REMOVED);
    EXPECT_EQ(p11_->C_CloseSession(session), CKR_DEVICE_REMOVED);
  }

  static std::unique_ptr<TestToken> token_;
  static CK_FUNCTION_LIST_PTR p11_;
  std::string dir_, label_, spki_;
  CK_SLOT_ID slot_ = 0;
  CK_SESSION_HANDLE s1_ = 0, s2_ = 0;
  CK_OBJECT_HANDLE key_ = 0;
};

std::unique_ptr<TestToken> FaultPkcs11Test::token_;
CK_FUNCTION_LIST_PTR FaultPkcs11Test::p11_ = nullptr;

TEST_F(FaultPkcs11Test, WithoutFaultsEverythingIsForwarded) {
  EXPECT_TRUE(SignsAndVerifies(s2_, key_));
  EXPECT_EQ(FindKey(s2_), key_);
  EXPECT_EQ(State(s2_), CKS_RW_USER_FUNCTIONS);
  EXPECT_EQ(InitializeModule(p11_), CKR_CRYPTOKI_ALREADY_INITIALIZED);
  EXPECT_EQ(Events(), std::vector<std::string>{"initialize"});
}

TEST_F(FaultPkcs11Test, InvalidateSessionsClosesEverySessionAndLogsTheTokenOut) {
  ASSERT_TRUE(SignsAndVerifies(s2_, key_));
  Touch("invalidate-sessions");
  CK_RV rv = CKR_OK;
  State(s2_, &rv);  // the next call with a session handle fires it, then is forwarded
  EXPECT_EQ(rv, CKR_SESSION_HANDLE_INVALID);
  EXPECT_FALSE(Exists("invalidate-sessions"));
  EXPECT_EQ(CountEvents("fired invalidate-sessions"), 1u);

  CK_SESSION_HANDLE fresh = 0;
  ASSERT_EQ(Open(&fresh), CKR_OK);
  EXPECT_EQ(State(fresh), CKS_RW_PUBLIC_SESSION) << "the token must be logged out";
  for (CK_SESSION_HANDLE old : {s1_, s2_}) {
    // Either the old handle is dead or (a module that reuses numbers) it now
    // names the new, not-logged-in session. SoftHSM2 2.6.1: dead.
    const CK_STATE state = State(old, &rv);
    if (old == fresh) {
      EXPECT_EQ(state, CKS_RW_PUBLIC_SESSION);
    } else {
      EXPECT_EQ(rv, CKR_SESSION_HANDLE_INVALID) << "old handle " << old;
    }
  }
  EXPECT_NE(fresh, s1_) << "SoftHSM2 2.6.1 no longer numbers handles per initialization";
  EXPECT_NE(fresh, s2_);

  ASSERT_EQ(Login(fresh), CKR_OK);
  EXPECT_EQ(Sign(fresh, key_, nullptr), CKR_OBJECT_HANDLE_INVALID)
      << "the logout invalidated the cached private-key handle";
  const CK_OBJECT_HANDLE key = FindKey(fresh);
  ASSERT_NE(key, 0u);
  EXPECT_NE(key, key_);
  EXPECT_TRUE(SignsAndVerifies(fresh, key));
}

TEST_F(FaultPkcs11Test, LogoutHidesPrivateObjectsUntilTheNextLogin) {
  ASSERT_TRUE(SignsAndVerifies(s2_, key_));
  Touch("logout");
  CK_RV rv = CKR_GENERAL_ERROR;
  EXPECT_EQ(FindKey(s2_, &rv), 0u) << "fires on s2's C_FindObjectsInit, before the search";
  EXPECT_EQ(rv, CKR_OK);
  EXPECT_FALSE(Exists("logout"));
  EXPECT_EQ(CountEvents("fired logout"), 1u);
  EXPECT_EQ(State(s1_), CKS_RW_PUBLIC_SESSION) << "every session of the app is logged out";
  EXPECT_EQ(State(s2_), CKS_RW_PUBLIC_SESSION);
  EXPECT_EQ(Sign(s2_, key_, nullptr), CKR_OBJECT_HANDLE_INVALID);
  EXPECT_EQ(Sign(s1_, key_, nullptr), CKR_OBJECT_HANDLE_INVALID);

  ASSERT_EQ(Login(s1_), CKR_OK);
  EXPECT_EQ(State(s2_), CKS_RW_USER_FUNCTIONS);
  EXPECT_EQ(Sign(s2_, key_, nullptr), CKR_OBJECT_HANDLE_INVALID)
      << "SoftHSM2 2.6.1: the old handle stays dead after a new login";
  const CK_OBJECT_HANDLE key = FindKey(s2_);
  ASSERT_NE(key, 0u);
  EXPECT_NE(key, key_);
  EXPECT_TRUE(SignsAndVerifies(s2_, key));
  EXPECT_EQ(CountEvents("fired logout"), 1u) << "one-shot";
}

TEST_F(FaultPkcs11Test, RemoveLastsUntilFinalizeAndInitializeAfterTheFileIsGone) {
  ASSERT_TRUE(SignsAndVerifies(s2_, key_));
  Touch("remove");
  ExpectRemoved(s2_);
  EXPECT_EQ(InitializeModule(p11_), CKR_CRYPTOKI_ALREADY_INITIALIZED);
  EXPECT_EQ(CountEvents("removed"), 1u);

  // Re-initializing while the file exists does not bring it back.
  ASSERT_EQ(p11_->C_Finalize(nullptr), CKR_OK);
  ASSERT_EQ(InitializeModule(p11_), CKR_OK);
  ExpectRemoved(s2_);

  // Nor does deleting the file alone.
  ASSERT_EQ(::unlink(Control("remove").c_str()), 0);
  ExpectRemoved(s2_);
  EXPECT_EQ(CountEvents("reinserted"), 0u);

  ASSERT_EQ(p11_->C_Finalize(nullptr), CKR_OK);
  ASSERT_EQ(InitializeModule(p11_), CKR_OK);
  const std::vector<std::string> events = Events();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(events.end() - 3, events.end()),
            (std::vector<std::string>{"finalize", "initialize", "reinserted"}));
  EXPECT_EQ(CountEvents("removed"), 1u);

  CK_SLOT_ID slot = 0;
  ASSERT_EQ(Slot(&slot), CKR_OK);
  EXPECT_EQ(slot, slot_);
  CK_SESSION_HANDLE fresh = 0;
  ASSERT_EQ(Open(&fresh), CKR_OK);
  EXPECT_EQ(State(fresh), CKS_RW_PUBLIC_SESSION);
  // SoftHSM2 2.6.1 restarts its handle numbers: the stale s1_ names `fresh`.
  EXPECT_EQ(fresh, s1_);
  EXPECT_EQ(State(s1_), CKS_RW_PUBLIC_SESSION);
  ASSERT_EQ(Login(fresh), CKR_OK);
  const CK_OBJECT_HANDLE key = FindKey(fresh);
  ASSERT_NE(key, 0u);
  EXPECT_NE(key, key_) << "object handles change with the re-initialization";
  EXPECT_TRUE(SignsAndVerifies(fresh, key));
}

TEST_F(FaultPkcs11Test, SignLatencyDelaysEverySignature) {
  Touch("sign-latency-us", "3000\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the module re-reads every 100 ms
  constexpr int kSignatures = 200;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kSignatures; ++i) ASSERT_EQ(Sign(s2_, key_, nullptr), CKR_OK) << i;
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, kSignatures * std::chrono::milliseconds(3));
}

TEST_F(FaultPkcs11Test, AttributeLatencyDelaysEveryAttributeRead) {
  Touch("attribute-latency-us", "20000\n");  // read at every call
  constexpr int kReads = 10;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kReads; ++i) {
    CK_KEY_TYPE type = 0;
    CK_ATTRIBUTE a{CKA_KEY_TYPE, &type, sizeof(type)};
    ASSERT_EQ(p11_->C_GetAttributeValue(s1_, key_, &a, 1), CKR_OK) << i;
    EXPECT_EQ(type, CKK_EC);
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, kReads * std::chrono::milliseconds(20));
}

TEST_F(FaultPkcs11Test, SignLatencyAppliesToConcurrentSigners) {
  // 20 ms: far above what 160 signatures cost on 2 cores without the sleep.
  Touch("sign-latency-us", "20000");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  constexpr int kThreads = 16, kEach = 10;
  std::vector<CK_SESSION_HANDLE> sessions(kThreads);
  for (auto& s : sessions) ASSERT_EQ(Open(&s), CKR_OK);
  std::atomic<int> ok{0};
  std::vector<std::chrono::steady_clock::duration> took(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < kEach; ++i) ok += SignsAndVerifies(sessions[t], key_) ? 1 : 0;
      took[t] = std::chrono::steady_clock::now() - start;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kEach);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_GE(took[t], kEach * std::chrono::milliseconds(20)) << "thread " << t;
  }
}

TEST_F(FaultPkcs11Test, BufferTooSmallKeepsTheOperationActiveOnThatSession) {
  CK_MECHANISM ecdsa = {CKM_ECDSA, nullptr, 0};
  ASSERT_EQ(p11_->C_SignInit(s2_, &ecdsa, key_), CKR_OK);
  Touch("buffer-too-small");
  std::string digest = kDigest;
  CK_BYTE_PTR data = reinterpret_cast<CK_BYTE_PTR>(digest.data());
  CK_ULONG len = 0;
  ASSERT_EQ(p11_->C_Sign(s2_, data, digest.size(), nullptr, &len), CKR_OK);
  EXPECT_EQ(len, 64u);
  EXPECT_TRUE(Exists("buffer-too-small")) << "a length query does not fire it";

  CK_BYTE sig[64];
  len = sizeof(sig);
  EXPECT_EQ(p11_->C_Sign(s2_, data, digest.size(), sig, &len), CKR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 64u) << "the required length";
  EXPECT_FALSE(Exists("buffer-too-small"));
  EXPECT_EQ(CountEvents("fired buffer-too-small"), 1u);
  EXPECT_EQ(p11_->C_SignInit(s2_, &ecdsa, key_), CKR_OPERATION_ACTIVE) << "the session is poisoned";
  EXPECT_TRUE(SignsAndVerifies(s1_, key_)) << "another session signs fine";

  // Completing the active operation frees the session again.
  len = sizeof(sig);
  EXPECT_EQ(p11_->C_Sign(s2_, data, digest.size(), sig, &len), CKR_OK);
  EXPECT_TRUE(SignsAndVerifies(s2_, key_));
}

TEST_F(FaultPkcs11Test, OneShotModesFireExactlyOnceUnderConcurrency) {
  constexpr int kRounds = 20, kThreads = 16;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<CK_SESSION_HANDLE> sessions(kThreads);
    for (auto& s : sessions) ASSERT_EQ(Open(&s), CKR_OK);
    Touch("buffer-too-small");
    // A latch, not a spin: 16 spinning threads on 2 cores starve the one
    // that starts them (minutes under TSan).
    std::latch go(1);
    std::atomic<int> too_small{0}, ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        go.wait();
        const CK_RV rv = Sign(sessions[t], key_, nullptr);
        too_small += rv == CKR_BUFFER_TOO_SMALL ? 1 : 0;
        ok += rv == CKR_OK ? 1 : 0;
      });
    }
    go.count_down();
    for (auto& th : threads) th.join();
    EXPECT_EQ(too_small.load(), 1) << "round " << round;
    EXPECT_EQ(ok.load(), kThreads - 1) << "round " << round;
    for (CK_SESSION_HANDLE s : sessions) EXPECT_EQ(p11_->C_CloseSession(s), CKR_OK);
  }
  EXPECT_EQ(CountEvents("fired buffer-too-small"), static_cast<size_t>(kRounds));
}

TEST_F(FaultPkcs11Test, OutageFailsDeviceCallsWhileTheFileExists) {
  auto expect_outage = [&] {
    CK_TOKEN_INFO info;
    EXPECT_EQ(p11_->C_GetTokenInfo(slot_, &info), CKR_DEVICE_ERROR);
    CK_SESSION_HANDLE s = 0;
    EXPECT_EQ(Open(&s), CKR_DEVICE_ERROR);
    CK_RV rv = CKR_OK;
    State(s2_, &rv);
    EXPECT_EQ(rv, CKR_DEVICE_ERROR);
    EXPECT_EQ(Login(s2_), CKR_DEVICE_ERROR);
    FindKey(s2_, &rv);
    EXPECT_EQ(rv, CKR_DEVICE_ERROR);
    EXPECT_EQ(Sign(s2_, key_, nullptr), CKR_DEVICE_ERROR);
  };
  Touch("outage");
  expect_outage();
  ASSERT_EQ(::unlink(Control("outage").c_str()), 0);
  EXPECT_TRUE(SignsAndVerifies(s2_, key_));

  // The older switch, a file named by KSEF_FAULT_PKCS11_FILE, means the same.
  const std::string file = dir_ + "/env-outage";
  ::setenv("KSEF_FAULT_PKCS11_FILE", file.c_str(), 1);
  std::ofstream(file) << "down\n";
  expect_outage();
  std::remove(file.c_str());
  EXPECT_TRUE(SignsAndVerifies(s2_, key_));
  ::unsetenv("KSEF_FAULT_PKCS11_FILE");
  CK_TOKEN_INFO info;
  EXPECT_EQ(p11_->C_GetTokenInfo(slot_, &info), CKR_OK);
}

TEST_F(FaultPkcs11Test, AuditSignFileFailsOnlyTheAuditKey) {
  const std::string file = dir_ + "/audit-sign";
  ::setenv("KSEF_FAULT_PKCS11_AUDIT_SIGN_FILE", file.c_str(), 1);
  std::ofstream(file) << "down\n";
  // A key labelled ksef-hsm-audit: relabel this test's private key.
  std::string label = "ksef-hsm-audit";
  CK_ATTRIBUTE attr = {CKA_LABEL, label.data(), label.size()};
  const CK_RV relabel = p11_->C_SetAttributeValue(s1_, key_, &attr, 1);
  CK_MECHANISM ecdsa = {CKM_ECDSA, nullptr, 0};
  const CK_RV while_file = p11_->C_SignInit(s2_, &ecdsa, key_);
  std::remove(file.c_str());
  ::unsetenv("KSEF_FAULT_PKCS11_AUDIT_SIGN_FILE");
  ASSERT_EQ(relabel, CKR_OK);
  EXPECT_EQ(while_file, CKR_FUNCTION_FAILED);
  EXPECT_TRUE(SignsAndVerifies(s2_, key_));
}

TEST_F(FaultPkcs11Test, WithoutTheControlDirectoryNoModeIsActive) {
  for (const char* name :
       {"outage", "invalidate-sessions", "logout", "remove", "buffer-too-small"}) {
    Touch(name);
  }
  ::unsetenv("KSEF_FAULT_PKCS11_DIR");
  EXPECT_TRUE(SignsAndVerifies(s2_, key_));
  EXPECT_EQ(State(s1_), CKS_RW_USER_FUNCTIONS);
  CK_SLOT_ID slot = 0;
  EXPECT_EQ(Slot(&slot), CKR_OK);
  EXPECT_TRUE(Exists("logout") && Exists("invalidate-sessions") && Exists("buffer-too-small"));
  EXPECT_EQ(Events(), std::vector<std::string>{"initialize"});
}

}  // namespace
