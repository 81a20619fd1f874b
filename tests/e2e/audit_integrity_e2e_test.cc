// Issue 12 end to end, with the real ksef-hsmd on SoftHSM2 and SQLite: the
// audit log that someone with write access to its database cannot rewrite,
// shorten or forge unnoticed. A SIGKILL under signing load leaves at most
// audit_checkpoint_events events unprotected and nothing missing; rows
// deleted under a running server are found at its next checkpoint and stop
// it from writing on, also after a restart; a checkpoint the audit key
// cannot sign turns health NOT_SERVING and signing UNAVAILABLE until it can.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "audit/anchor.h"
#include "audit/sqlite_audit_store.h"
#include "audit/verifier.h"
#include "common/sqlite.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/server_process.h"
#include "tests/support/softhsm_token.h"

namespace ksef {
namespace {

namespace pb = ::ksef::hsm::v1;
using ::ksef::testing::ServerProcess;

constexpr int kCheckpointEvents = 20;

class AuditIntegrityE2eTest : public E2eFixture {
 protected:
  void SetUp() override {
    E2eFixture::SetUp();
    std::ofstream(config_, std::ios::app)
        << "audit_checkpoint_events = " << kCheckpointEvents << "\n"
        << "audit_checkpoint_interval = 1h\n"
        << "token_check_interval = 200ms\n";  // health follows the audit log quickly
  }
  std::string State() const { return dir_ + "/state"; }
  std::string Anchor() const { return State() + "/audit-anchor.log"; }

  // Offline verification of a copy of the store (with its WAL) against the
  // anchor, as `ksef-hsm audit verify --db COPY --anchor FILE` does it.
  audit::VerifyReport VerifyCopy() {
    const std::string copy = dir_ + "/copy.db";
    std::filesystem::remove(copy);
    std::filesystem::remove(copy + "-wal");
    std::filesystem::copy_file(State() + "/audit.db", copy);
    if (std::filesystem::exists(State() + "/audit.db-wal")) {
      std::filesystem::copy_file(State() + "/audit.db-wal", copy + "-wal");
    }
    auto store = audit::SqliteAuditStore::Open(copy, /*read_only=*/true);
    EXPECT_TRUE(store.ok()) << store.status();
    auto anchor = audit::ReadAnchorFile(Anchor());
    EXPECT_TRUE(anchor.ok()) << anchor.status();
    if (!store.ok() || !anchor.ok()) return audit::VerifyReport{.ok = false};
    audit::VerifyOptions options;
    options.anchor = *anchor;
    auto report = audit::VerifyAuditChain(**store, options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : audit::VerifyReport{.ok = false};
  }

  void Sql(const std::string& sql) {
    auto db = SqliteDb::Open(State() + "/audit.db", "test");
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec(sql.c_str()).ok()) << sql;
  }
};

TEST_F(AuditIntegrityE2eTest, SigkillUnderSigningLoadLeavesAtMostNUnprotectedAndNothingMissing) {
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  {
    Caller cli = Connect((*server)->port(), "client");
    ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
  }
  std::atomic<bool> stop{false};
  std::atomic<int> signed_ok{0};
  std::vector<std::thread> threads;
  const int port = (*server)->port();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Caller c = Connect(port, "client");
      while (!stop && SignAuth(c, "keys/auth-a").ok()) ++signed_ok;
    });
  }
  absl::SleepFor(absl::Milliseconds(1500 + std::rand() % 1000));
  (*server)->Stop(SIGKILL);
  stop = true;
  for (auto& th : threads) th.join();
  ASSERT_GT(signed_ok.load(), kCheckpointEvents);

  audit::VerifyReport report = VerifyCopy();
  EXPECT_TRUE(report.ok) << report.bad_seq << ": " << report.problem;
  ASSERT_EQ(report.nodes.size(), 1u);
  EXPECT_GE(report.nodes[0].events, signed_ok.load());
  EXPECT_GT(report.nodes[0].anchored_checkpoints, 1);
  EXPECT_LE(report.nodes[0].unprotected, kCheckpointEvents);

  // The restart covers that tail with its start-up checkpoint.
  auto restarted = ServerProcess::Start(config_, dir_ + "/server2.log");
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  Caller cli = Connect((*restarted)->port(), "client");
  pb::VerifyAuditLogResponse verify;
  ASSERT_TRUE(Call([&](auto* ctx) { return cli.audit->VerifyAuditLog(ctx, {}, &verify); }).ok());
  EXPECT_TRUE(verify.ok()) << verify.problem();
  EXPECT_TRUE(verify.anchor_checked());
  ASSERT_EQ(verify.chains_size(), 1);
  EXPECT_EQ(verify.chains(0).unprotected(), 0);
}

TEST_F(AuditIntegrityE2eTest, DeletedNewestRowsAreFoundAtTheNextCheckpointAndOnRestart) {
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Caller cli = Connect((*server)->port(), "client");
  ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
  for (int i = 0; i < kCheckpointEvents; ++i) ASSERT_TRUE(SignAuth(cli, "keys/auth-a").ok());
  // Someone with write access to audit.db cuts the newest events.
  Sql("DELETE FROM audit_events WHERE seq > (SELECT MAX(seq) - 3 FROM audit_events)");
  for (int i = 0; i < 2 * kCheckpointEvents && Serving(cli); ++i) {
    (void)SignAuth(cli, "keys/auth-a");
  }
  EXPECT_TRUE(WaitForServing(cli, false, 50)) << (*server)->Log();
  EXPECT_TRUE(absl::StrContains((*server)->Log(), "was altered")) << (*server)->Log();
  EXPECT_EQ(SignAuth(cli, "keys/auth-a").error_code(), grpc::StatusCode::UNAVAILABLE);
  (*server)->Stop(SIGTERM);

  const int rc = ServerProcess::RunToExit(config_, dir_ + "/server2.log");
  EXPECT_NE(rc, 0);
  std::ifstream in(dir_ + "/server2.log");
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StrContains(log, "will not write on from an altered chain")) << log;
}

TEST_F(AuditIntegrityE2eTest, CutBelowTheLastAnchoredCheckpointStopsTheRestart) {
  {
    auto server = ServerProcess::Start(config_, dir_ + "/server.log");
    ASSERT_TRUE(server.ok()) << server.status();
    Caller cli = Connect((*server)->port(), "client");
    ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(SignAuth(cli, "keys/auth-a").ok());
    ASSERT_EQ((*server)->Stop(SIGTERM), 0);  // the closing checkpoint, anchored
  }
  // The events and every checkpoint that covered them: only the anchor knows.
  Sql("DELETE FROM audit_events WHERE seq > 3; DELETE FROM audit_checkpoints WHERE seq > 3");
  const int rc = ServerProcess::RunToExit(config_, dir_ + "/server2.log");
  EXPECT_NE(rc, 0);
  std::ifstream in(dir_ + "/server2.log");
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StrContains(log, "last anchored checkpoint")) << log;
  EXPECT_FALSE(VerifyCopy().ok);
}

TEST_F(AuditIntegrityE2eTest, CheckpointTheAuditKeyCannotSignFailsClosedUntilItCan) {
  const char* build = std::getenv("KSEF_BUILD_DIR");
  ASSERT_NE(build, nullptr) << "run through ctest (KSEF_BUILD_DIR)";
  const std::string fault = dir_ + "/audit-sign-fault";
  setenv("KSEF_FAULT_PKCS11_MODULE", ksef::testing::TestToken::ModulePath().c_str(), 1);
  setenv("KSEF_FAULT_PKCS11_AUDIT_SIGN_FILE", fault.c_str(), 1);
  std::string conf;
  {
    std::ifstream in(config_);
    std::string line;
    while (std::getline(in, line)) {
      if (absl::StartsWith(line, "pkcs11_module")) {
        line = absl::StrCat("pkcs11_module = ", build, "/tests/libksef_fault_pkcs11.so");
      }
      absl::StrAppend(&conf, line, "\n");
    }
  }
  const std::string fault_config = dir_ + "/fault.conf";
  std::ofstream(fault_config) << conf;
  auto server = ServerProcess::Start(fault_config, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Caller cli = Connect((*server)->port(), "client");
  ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
  ASSERT_TRUE(SignAuth(cli, "keys/auth-a").ok());
  ASSERT_TRUE(Serving(cli));

  std::ofstream(fault) << "audit key cannot sign\n";
  for (int i = 0; i < 2 * kCheckpointEvents && Serving(cli); ++i) {
    (void)SignAuth(cli, "keys/auth-a");
  }
  EXPECT_TRUE(WaitForServing(cli, false, 50)) << (*server)->Log();
  grpc::Status refused = SignAuth(cli, "keys/auth-a");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_TRUE(absl::StrContains((*server)->Log(), "audit checkpoint failed")) << (*server)->Log();

  std::remove(fault.c_str());
  EXPECT_TRUE(WaitForServing(cli, true, 150)) << (*server)->Log();  // the writer retries (5 s)
  grpc::Status again = SignAuth(cli, "keys/auth-a");
  EXPECT_TRUE(again.ok()) << again.error_message();
  ASSERT_EQ((*server)->Stop(SIGTERM), 0);
  unsetenv("KSEF_FAULT_PKCS11_AUDIT_SIGN_FILE");
  audit::VerifyReport report = VerifyCopy();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.nodes.at(0).unprotected, 0);
}

TEST_F(AuditIntegrityE2eTest, ASecondServerWithTheSameNodeIdRefusesToStart) {
  auto first = ServerProcess::Start(config_, dir_ + "/server1.log");
  ASSERT_TRUE(first.ok()) << first.status();
  const int rc = ServerProcess::RunToExit(config_, dir_ + "/server2.log");
  EXPECT_NE(rc, 0);
  std::ifstream in(dir_ + "/server2.log");
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StrContains(log, "audit node id \"e2e-node\" is in use by another live server"))
      << log;
  // The first one still serves, and once it is gone the node is free again.
  Caller cli = Connect((*first)->port(), "client");
  EXPECT_TRUE(Serving(cli));
  ASSERT_EQ((*first)->Stop(SIGTERM), 0);
  auto again = ServerProcess::Start(config_, dir_ + "/server3.log");
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST_F(AuditIntegrityE2eTest, AServerRefusesAnAuditKeyOtherThanThePinnedOne) {
  std::string fingerprint;
  {
    auto server = ServerProcess::Start(config_, dir_ + "/server1.log");
    ASSERT_TRUE(server.ok()) << server.status();
    Caller cli = Connect((*server)->port(), "client");
    pb::AuditPublicKey apk;
    ASSERT_TRUE(Call([&](auto* ctx) { return cli.audit->GetAuditPublicKey(ctx, {}, &apk); }).ok());
    fingerprint = apk.sha256_fingerprint();
    ASSERT_EQ((*server)->Stop(SIGTERM), 0);
  }
  // Every anchor line carries the fingerprint.
  auto anchor = audit::ReadAnchorFile(Anchor());
  ASSERT_TRUE(anchor.ok()) << anchor.status();
  ASSERT_FALSE(anchor->empty());
  for (const audit::AnchorRecord& r : *anchor) EXPECT_EQ(r.key_sha256, fingerprint);

  const std::string pinned = dir_ + "/pinned.conf";
  std::ifstream in(config_);
  std::string conf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(pinned) << conf << "audit_public_key_sha256 = " << fingerprint << "\n";
  {
    auto server = ServerProcess::Start(pinned, dir_ + "/server2.log");
    ASSERT_TRUE(server.ok()) << server.status();
    ASSERT_EQ((*server)->Stop(SIGTERM), 0);
  }
  std::ofstream(pinned) << conf << "audit_public_key_sha256 = " << std::string(64, 'A') << "\n";
  EXPECT_NE(ServerProcess::RunToExit(pinned, dir_ + "/server3.log"), 0);
  std::ifstream in3(dir_ + "/server3.log");
  const std::string log((std::istreambuf_iterator<char>(in3)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StrContains(log, "audit_public_key_sha256 in the config pins")) << log;
}

}  // namespace
}  // namespace ksef
