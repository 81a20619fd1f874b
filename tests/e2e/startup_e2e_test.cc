// Start-up under a stop signal (issue 15): the real ksef-hsmd on a token whose
// objects are slow to read (the fault module's attribute-latency-us), SIGTERM
// while the start-up's pass over the token runs. The process must stop
// (exit 143, "stopped during start-up"), never serve first, and the next
// start must work on the same token, registry and audit log. Two cases: each
// object read shorter than the server's 1 s grace (start-up notices the stop
// before the next object and tears down cleanly), and longer (start-up is
// inside one call it cannot leave: the process exits at once).
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

  // Three keys made, then a start with `latency_us` per C_GetAttributeValue
  // stopped by SIGTERM as it reads the token's objects: exit 143 before
  // serving. Then a normal start must serve the same keys with no incomplete
  // token object. Returns the stopped start's log.
  std::string StopWhileReadingObjects(const std::string& latency_us);

  std::string fault_dir_;
};

std::string StartupE2eTest::StopWhileReadingObjects(const std::string& latency_us) {
  const std::string log = dir_ + "/server.log";
  {
    auto first = ServerProcess::Start(config_, log);
    EXPECT_TRUE(first.ok()) << first.status();
    if (!first.ok()) return "";
    Caller c = Connect((*first)->port(), "client");
    for (const char* id : {"k1", "k2", "k3"}) {
      pb::Key key;
      pb::CreateKeyRequest req = KeyRequest(id, kNipA, pb::OFFLINE);
      EXPECT_TRUE(Call([&](auto* ctx) { return c.keys->CreateKey(ctx, req, &key); }).ok());
    }
    EXPECT_EQ((*first)->Stop(SIGTERM), 0);
  }
  std::ofstream(fault_dir_ + "/attribute-latency-us") << latency_us << "\n";
  auto starting = ServerProcess::StartUntilLog(config_, log, "reading the token's objects");
  EXPECT_TRUE(starting.ok()) << starting.status();
  if (!starting.ok()) return "";
  const auto sent = std::chrono::steady_clock::now();
  const int code = (*starting)->Stop(SIGTERM, absl::Seconds(60));
  const auto took = std::chrono::steady_clock::now() - sent;
  std::cout << "SIGTERM during start-up (" << latency_us << " us per object read): exit " << code
            << " after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms\n";
  const std::string full_log = (*starting)->Log();
  const std::string stopped_log =
      full_log.substr(full_log.rfind("reading the token's objects (one pass"));
  EXPECT_EQ(code, 128 + SIGTERM) << stopped_log;
  EXPECT_EQ(stopped_log.find("serving on"), std::string::npos) << "it served before stopping";

  std::filesystem::remove(fault_dir_ + "/attribute-latency-us");
  auto next = ServerProcess::Start(config_, log);
  EXPECT_TRUE(next.ok()) << next.status();
  if (!next.ok()) return stopped_log;
  EXPECT_EQ(ListedKeys((*next)->port()),
            (std::vector<std::string>{"keys/k1", "keys/k2", "keys/k3"}));
  const std::string next_log = (*next)->Log();
  EXPECT_NE(next_log.rfind("0 incomplete token objects"), std::string::npos) << next_log;
  EXPECT_EQ((*next)->Stop(SIGTERM), 0);
  return stopped_log;
}

TEST_F(StartupE2eTest, SigtermBetweenObjectReadsStopsStartUpCleanly) {
  // 8 token objects at 0.3 s: a start-up that ignored the signal would serve
  // after some 2.4 s and then exit 0 on the queued SIGTERM.
  const std::string log = StopWhileReadingObjects("300000");
  EXPECT_NE(log.find("stopped during start-up (SIGTERM; stopped while reading the token's"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("shutdown complete"), std::string::npos) << "torn down cleanly:\n" << log;
}

TEST_F(StartupE2eTest, SigtermInsideOneLongCallEndsTheProcessAfterTheGrace) {
  // One object read takes 5 s, longer than the server's 1 s grace.
  const std::string log = StopWhileReadingObjects("5000000");
  EXPECT_NE(log.find("stopped during start-up (SIGTERM; start-up did not notice it within 1s"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace ksef
