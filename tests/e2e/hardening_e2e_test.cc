// End-to-end hardening of the real ksef-hsmd (issue 11): file modes of what
// it trusts and creates, and internal objects found by their recorded CKA_ID
// rather than by a label a caller could also choose; a listen address taken
// by another process (issue 14).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "pkcs11/hsm.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/test_hsm.h"

namespace ksef {
namespace {

class HardeningE2eTest : public E2eFixture {
 protected:
  static mode_t ModeOf(const std::string& path) {
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Runs the server to its (failed) end; returns its log.
  std::string StartFails(const std::string& name) {
    const std::string log = absl::StrCat(dir_, "/", name, ".log");
    EXPECT_EQ(ServerProcess::RunToExit(config_, log), 1) << Slurp(log);
    return Slurp(log);
  }
  bool WaitForLog(ServerProcess& server, const std::string& text) {
    for (int i = 0; i < 100; ++i) {
      if (absl::StrContains(server.Log(), text)) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }
  std::string Policy() const { return dir_ + "/policy.conf"; }
  // The fixture's config on `address` as node e2e-<name>, with `extra`
  // lines; written to <dir>/<name>.conf.
  std::string ConfigOn(const std::string& name, const std::string& address,
                       const std::string& extra) {
    const std::string path = absl::StrCat(dir_, "/", name, ".conf");
    std::ofstream(path) << absl::StrReplaceAll(
                               Slurp(config_),
                               {{"listen_address = 127.0.0.1:0", "listen_address = " + address},
                                {"node_id = e2e-node", "node_id = e2e-" + name}})
                        << extra;
    return path;
  }
};

TEST_F(HardeningE2eTest, RefusesToStartWithWritableConfigPolicyOrReadablePin) {
  ASSERT_EQ(::chmod(config_.c_str(), 0666), 0);
  std::string log = StartFails("world-writable-config");
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("config file ", config_,
                                                  " is writable by group or others (mode 0666")))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "chmod go-w " + config_)) << log;
  ASSERT_EQ(::chmod(config_.c_str(), 0664), 0);
  log = StartFails("group-writable-config");
  EXPECT_TRUE(absl::StrContains(log, "(mode 0664")) << log;
  ASSERT_EQ(::chmod(config_.c_str(), 0644), 0);

  // The policy file as the config names it (relative to the config's directory).
  ASSERT_EQ(::chmod(Policy().c_str(), 0646), 0);
  log = StartFails("world-writable-policy");
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("policy file ", Policy(),
                                                  " is writable by group or others")))
      << log;
  ASSERT_EQ(::chmod(Policy().c_str(), 0644), 0);

  ASSERT_EQ(::chmod(token_->pin_file().c_str(), 0604), 0);
  log = StartFails("readable-pin");
  EXPECT_TRUE(absl::StrContains(log, "chmod 600 " + token_->pin_file())) << log;
  ASSERT_EQ(::chmod(token_->pin_file().c_str(), 0620), 0);
  log = StartFails("writable-pin");
  EXPECT_TRUE(absl::StrContains(log, "chmod 600 " + token_->pin_file())) << log;
  ASSERT_EQ(::chmod(token_->pin_file().c_str(), 0600), 0);

  // Fixed: the same files start a server.
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
}

TEST_F(HardeningE2eTest, StateDirectoryAndDatabasesArePrivate) {
  const mode_t old_umask = ::umask(022);  // the server must not depend on its parent's umask
  const std::string state = dir_ + "/state";
  {
    auto server = ServerProcess::Start(config_, dir_ + "/server.log");
    ::umask(old_umask);
    ASSERT_TRUE(server.ok()) << server.status();
    Caller cli = Connect((*server)->port(), "client");
    pb::Key key;
    ASSERT_TRUE(Call([&](auto* ctx) {
                  return cli.keys->CreateKey(ctx, KeyRequest("k1", kNipA, pb::OFFLINE), &key);
                }).ok());
    // While it runs (WAL mode), every database file exists.
    EXPECT_EQ(ModeOf(state), 0700u);
    for (const char* db : {"keys.db", "audit.db"}) {
      for (const char* suffix : {"", "-wal", "-shm"}) {
        EXPECT_EQ(ModeOf(absl::StrCat(state, "/", db, suffix)), 0600u) << db << suffix;
      }
    }
    EXPECT_EQ((*server)->Stop(SIGTERM), 0);
  }

  // Looser files left by an older version are tightened at start, with a log line.
  ASSERT_EQ(::chmod(state.c_str(), 0755), 0);
  ASSERT_EQ(::chmod((state + "/audit.db").c_str(), 0644), 0);
  ASSERT_EQ(::chmod((state + "/keys.db").c_str(), 0664), 0);
  auto server = ServerProcess::Start(config_, dir_ + "/server2.log");
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(ModeOf(state), 0700u);
  EXPECT_EQ(ModeOf(state + "/audit.db"), 0600u);
  EXPECT_EQ(ModeOf(state + "/keys.db"), 0600u);
  EXPECT_EQ(ModeOf(state + "/audit.db-wal"), 0600u);
  const std::string log = (*server)->Log();
  EXPECT_TRUE(absl::StrContains(log, state + "/audit.db was accessible by group or others "
                                             "(mode 0644); changed to 0600"))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "(mode 0755); changed to 0700")) << log;
}

TEST_F(HardeningE2eTest, SighupKeepsThePolicyWhenTheFileBecomesWritable) {
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Caller cli = Connect((*server)->port(), "client");
  pb::ListKeysRequest list;
  pb::ListKeysResponse keys;
  ASSERT_TRUE(Call([&](auto* ctx) { return cli.keys->ListKeys(ctx, list, &keys); }).ok());

  // A policy that grants nothing, in a file anyone could have written.
  std::ofstream(Policy()) << "identity nobody subject=\"CN=nobody\"\n";
  ASSERT_EQ(::chmod(Policy().c_str(), 0666), 0);
  ASSERT_EQ(kill((*server)->pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitForLog(**server, "policy reload failed")) << (*server)->Log();
  EXPECT_TRUE(absl::StrContains((*server)->Log(), "is writable by group or others"))
      << (*server)->Log();
  EXPECT_TRUE(Call([&](auto* ctx) { return cli.keys->ListKeys(ctx, list, &keys); }).ok());

  // The same content from a file only its owner can write is taken.
  ASSERT_EQ(::chmod(Policy().c_str(), 0644), 0);
  ASSERT_EQ(kill((*server)->pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitForLog(**server, "policy reloaded")) << (*server)->Log();
  EXPECT_EQ(Call([&](auto* ctx) { return cli.keys->ListKeys(ctx, list, &keys); }).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(HardeningE2eTest, ForeignKeyWithTheAuditLabelIsReportedNotUsed) {
  std::string audit_key_der;
  {
    auto server = ServerProcess::Start(config_, dir_ + "/server1.log");
    ASSERT_TRUE(server.ok()) << server.status();
    Caller cli = Connect((*server)->port(), "client");
    ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
    pb::AuditPublicKey apk;
    ASSERT_TRUE(Call([&](auto* ctx) { return cli.audit->GetAuditPublicKey(ctx, {}, &apk); }).ok());
    audit_key_der = apk.der();
    ASSERT_EQ((*server)->Stop(SIGTERM), 0);  // a signed checkpoint at shutdown
  }

  // Someone with the token PIN adds a key labelled like the audit key (as
  // pkcs11-tool --keypairgen --label ksef-hsm-audit would).
  std::string foreign_uri;
  {
    auto hsm = ksef::testing::OpenTestHsm(*token_);
    ASSERT_TRUE(hsm.ok()) << hsm.status();
    auto foreign = (*hsm)->keys().Generate(crypto::KeyAlgorithm::kEcP256, "ksef-hsm-audit");
    ASSERT_TRUE(foreign.ok()) << foreign.status();
    foreign_uri = foreign->uri;
  }

  auto server = ServerProcess::Start(config_, dir_ + "/server2.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Caller cli = Connect((*server)->port(), "client");
  const std::string log = (*server)->Log();
  EXPECT_TRUE(absl::StrContains(
      log, "WARN consistency: private key with a label reserved for the service's own keys"))
      << log;
  EXPECT_TRUE(absl::StrContains(log, foreign_uri)) << log;

  // The audit key is still the original one, and the chain verifies with it.
  pb::AuditPublicKey apk;
  ASSERT_TRUE(Call([&](auto* ctx) { return cli.audit->GetAuditPublicKey(ctx, {}, &apk); }).ok());
  EXPECT_EQ(apk.der(), audit_key_der);
  pb::VerifyAuditLogResponse verify;
  ASSERT_TRUE(Call([&](auto* ctx) { return cli.audit->VerifyAuditLog(ctx, {}, &verify); }).ok());
  EXPECT_TRUE(verify.ok()) << verify.problem();
  ASSERT_EQ(verify.chains_size(), 1);
  EXPECT_GE(verify.chains(0).checkpoints(), 1);
  EXPECT_TRUE(SignAuth(cli, "keys/auth-a").ok());

  pb::ConsistencyReport report;
  ASSERT_TRUE(
      Call([&](auto* ctx) { return cli.keys->CheckConsistency(ctx, {}, &report); }).ok());
  ASSERT_EQ(report.foreign_internal_label_keys_size(), 1);
  EXPECT_EQ(report.foreign_internal_label_keys(0), foreign_uri);
  ASSERT_EQ(report.unknown_token_keys_size(), 1);  // the registry does not know it either
  EXPECT_EQ(report.unknown_token_keys(0), foreign_uri);
  EXPECT_EQ(report.missing_keys_size(), 0);

  // The internal prefix is not a caller's to take.
  for (const char* id : {"ksef-hsm-audit", "ksef-hsm-x"}) {
    pb::Key key;
    grpc::Status s = Call([&](auto* ctx) {
      return cli.keys->CreateKey(ctx, KeyRequest(id, kNipA, pb::OFFLINE), &key);
    });
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << id;
    EXPECT_TRUE(absl::StrContains(s.error_message(), "reserved")) << s.error_message();
  }
  // And a restart with the foreign key still there keeps working.
  ASSERT_EQ((*server)->Stop(SIGTERM), 0);
  auto again = ServerProcess::Start(config_, dir_ + "/server3.log");
  ASSERT_TRUE(again.ok()) << again.status();
  Caller cli3 = Connect((*again)->port(), "client");
  ASSERT_TRUE(Call([&](auto* ctx) { return cli3.audit->GetAuditPublicKey(ctx, {}, &apk); }).ok());
  EXPECT_EQ(apk.der(), audit_key_der);
}

// gRPC sets SO_REUSEPORT by default on Linux: without listen_reuse_port a
// second ksef-hsmd on a taken address must stop at once (before it opens the
// token or the stores), naming the address, and the first keep every
// connection.
TEST_F(HardeningE2eTest, SecondServerOnATakenAddressStopsAndTheFirstKeepsServing) {
  auto first = ServerProcess::Start(config_, dir_ + "/first.log");
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string address = absl::StrCat("127.0.0.1:", (*first)->port());
  const std::string second = ConfigOn("second", address, "");
  const absl::Time started = absl::Now();
  const std::string log = dir_ + "/second.log";
  EXPECT_EQ(ServerProcess::RunToExit(second, log), 1) << Slurp(log);
  EXPECT_LT(absl::Now() - started, absl::Seconds(5) * TimeScale());
  EXPECT_TRUE(absl::StrContains(
      Slurp(log), absl::StrCat("listen_address ", address, " is already in use: is another "
                                                            "ksef-hsmd or another program "
                                                            "listening on it?")))
      << Slurp(log);
  EXPECT_FALSE(absl::StrContains(Slurp(log), "open via")) << "the token was opened:\n"
                                                          << Slurp(log);

  // Every new connection still reaches the first (each its own channel).
  for (int i = 0; i < 12; ++i) {
    Caller cli = Connect((*first)->port(), "client");
    pb::Key key;
    ASSERT_TRUE(Call([&](auto* ctx) {
                  return cli.keys->CreateKey(ctx, KeyRequest(absl::StrCat("k", i), kNipA,
                                                             pb::OFFLINE),
                                             &key);
                }).ok())
        << i;
  }
  EXPECT_EQ((*first)->Stop(SIGTERM), 0);
}

// listen_reuse_port = true on both shares the address on purpose (a hand-over
// on one host): the second starts on the first's port and serves it alone
// once the first has stopped.
TEST_F(HardeningE2eTest, ListenReusePortLetsTwoServersShareTheAddressWhenAskedFor) {
  std::ofstream(config_, std::ios::app) << "listen_reuse_port = true\n";
  auto first = ServerProcess::Start(config_, dir_ + "/first.log");
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->port();
  // The same registry (SQLite, one host), its own audit chain.
  const std::string second = ConfigOn("second", absl::StrCat("127.0.0.1:", port),
                                      "audit_db = state/audit2.db\n"
                                      "audit_anchor_file = state/anchor2.log\n");
  auto other = ServerProcess::Start(second, dir_ + "/second.log");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ((*other)->port(), port);
  EXPECT_EQ((*first)->Stop(SIGTERM), 0);
  Caller cli = Connect(port, "client");
  EXPECT_TRUE(Serving(cli));
  pb::AuditPublicKey apk;
  EXPECT_TRUE(Call([&](auto* ctx) { return cli.audit->GetAuditPublicKey(ctx, {}, &apk); }).ok());
}

}  // namespace
}  // namespace ksef
