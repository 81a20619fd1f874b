// Start-up under a stop signal (issue 15): the real ksef-hsmd on a token whose
// objects are slow to read (the fault module's attribute-latency-us: every
// C_GetAttributeValue takes 2 s, so the start-up's pass over the token would
// take tens of seconds), SIGTERM while that pass runs. The process must stop
// at once (exit 143, "stopped during start-up"), not serve first; the next
// start must work on the same token, registry and audit log.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_replace.h"
#include "common/files.h"
#include "tests/e2e/e2e_fixture.h"

namespace ksef {
namespace {

class StartupE2eTest : public E2eFixture {
 protected:
  void SetUp() override {
    E2eFixture::SetUp();
    const char* build = std::getenv("KSEF_BUILD_DIR");
    ASSERT_NE(build, nullptr) << "run through ctest (KSEF_BUILD_DIR)";
    fault_dir_ = dir_ + "/fault";
    std::filesystem::create_directories(fault_dir_);
    setenv("KSEF_FAULT_PKCS11_MODULE", TestToken::ModulePath().c_str(), 1);
    setenv("KSEF_FAULT_PKCS11_DIR", fault_dir_.c_str(), 1);
    std::string conf = ReadFile(config_).value();
    conf = absl::StrReplaceAll(
        conf, {{absl::StrCat("pkcs11_module = ", TestToken::ModulePath()),
                absl::StrCat("pkcs11_module = ", build, "/tests/libksef_fault_pkcs11.so")}});
    std::ofstream(config_) << conf;
  }
  void TearDown() override {
    unsetenv("KSEF_FAULT_PKCS11_MODULE");
    unsetenv("KSEF_FAULT_PKCS11_DIR");
  }

  // Names of the keys the server lists.
  std::vector<std::string> ListedKeys(int port) {
    Caller c = Connect(port, "client");
    pb::ListKeysRequest req;
    pb::ListKeysResponse resp;
    EXPECT_TRUE(Call([&](auto* ctx) { return c.keys->ListKeys(ctx, req, &resp); }).ok());
    std::vector<std::string> names;
    for (const pb::Key& k : resp.keys()) names.push_back(k.name());
    return names;
  }

  std::string fault_dir_;
};

TEST_F(StartupE2eTest, SigtermWhileReadingTheTokenStopsStartUpAndTheNextStartWorks) {
  const std::string log = dir_ + "/server.log";
  {
    auto first = ServerProcess::Start(config_, log);
    ASSERT_TRUE(first.ok()) << first.status();
    Caller c = Connect((*first)->port(), "client");
    for (const char* id : {"k1", "k2", "k3"}) {
      pb::Key key;
      pb::CreateKeyRequest req = KeyRequest(id, kNipA, pb::OFFLINE);
      ASSERT_TRUE(Call([&](auto* ctx) { return c.keys->CreateKey(ctx, req, &key); }).ok());
    }
    ASSERT_EQ((*first)->Stop(SIGTERM), 0);
  }
  const std::vector<std::string> before = [&] {
    auto again = ServerProcess::Start(config_, log);
    EXPECT_TRUE(again.ok()) << again.status();
    std::vector<std::string> names = ListedKeys((*again)->port());
    EXPECT_EQ((*again)->Stop(SIGTERM), 0);
    return names;
  }();
  ASSERT_EQ(before.size(), 3u);

  // 8 token objects at 2 s each: a start-up that ignored the signal would
  // serve only after some 16 s and then exit 0 on the queued SIGTERM.
  std::ofstream(fault_dir_ + "/attribute-latency-us") << "2000000\n";
  auto starting = ServerProcess::StartUntilLog(config_, log, "reading the token's objects");
  ASSERT_TRUE(starting.ok()) << starting.status();
  const auto sent = std::chrono::steady_clock::now();
  const int code = (*starting)->Stop(SIGTERM, absl::Seconds(60));
  const auto took = std::chrono::steady_clock::now() - sent;
  std::cout << "SIGTERM during start-up: exit " << code << " after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  const std::string stopped_log = (*starting)->Log();
  EXPECT_EQ(code, 128 + SIGTERM) << stopped_log;
  EXPECT_NE(stopped_log.find("stopped during start-up (SIGTERM"), std::string::npos)
      << stopped_log;
  EXPECT_EQ(stopped_log.find("serving on", stopped_log.rfind("reading the token's objects")),
            std::string::npos)
      << "it served before stopping";

  std::filesystem::remove(fault_dir_ + "/attribute-latency-us");
  auto next = ServerProcess::Start(config_, log);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(ListedKeys((*next)->port()), before);
  const std::string next_log = (*next)->Log();
  EXPECT_NE(next_log.rfind("0 incomplete token objects"), std::string::npos) << next_log;
  EXPECT_EQ((*next)->Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace ksef
