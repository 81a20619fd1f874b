// What only the PostgreSQL store does (the shared behaviour is in
// audit_log_test.cc): errors that name the store but never the password,
// reconnecting after the server dropped the connection or went down for a
// while, and the factory.
#include "audit/postgres_audit_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "audit/audit_store_factory.h"
#include "audit/testing/audit_test_util.h"
#include "audit/verifier.h"

namespace ksef::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PostgresAuditStoreTest, UnreachableServerIsUnavailableWithoutThePassword) {
  auto store = PostgresAuditStore::Open(
      "host=/nonexistent/ksef-pg port=54399 user=auditor password=s3cret-Pw9 dbname=audit "
      "connect_timeout=2");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("PostgreSQL audit store"));
  EXPECT_THAT(store.status().message(), HasSubstr("host=/nonexistent/ksef-pg"));
  EXPECT_THAT(store.status().message(), HasSubstr("config file"));
  EXPECT_THAT(store.status().message(), Not(HasSubstr("s3cret-Pw9")));
}

TEST(PostgresAuditStoreTest, MalformedConninfoIsInvalidArgumentWithoutThePassword) {
  auto store = PostgresAuditStore::Open("host=db password='s3cret-Pw9");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), Not(HasSubstr("s3cret-Pw9")));
}

TEST(PostgresAuditStoreTest, ReconnectsAfterTheServerDroppedTheConnection) {
  auto harness = PostgresHarness::Create();
  ASSERT_TRUE(harness.ok()) << harness.status();
  auto* pg = static_cast<PostgresHarness*>(harness->get());
  auto store = PostgresAuditStore::Open(pg->db().conninfo());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_THAT((*store)->description(), Not(HasSubstr("password")));
  TestAuditKey key;
  AuditLogOptions options;
  options.node = "node-a";
  options.checkpoint_interval = absl::Hours(1);
  auto log = AuditLog::Start(store->get(), key.signer(), options).value();
  ASSERT_TRUE(log->Record(TestEvent("SignAuthToken", "keys/a", 1)).ok());

  auto kill = [&] {
    // As a server restart or an idle timeout would.
    ASSERT_TRUE(
        ksef::testing::TestPostgresDb::AdminExec(
            absl::StrCat("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname='",
                         pg->db().name(), "' AND pid <> pg_backend_pid()"))
            .ok());
  };
  kill();
  auto e = log->Record(TestEvent("SignAuthToken", "keys/a", 2));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->seq, 2);
  kill();
  EXPECT_EQ((*store)->Head("node-a").value().seq, 2);
  kill();
  log->Shutdown();
  auto report = VerifyAuditChain(**store, key.spki()).value();
  EXPECT_TRUE(report.ok) << report.problem;
  ASSERT_EQ(report.nodes.size(), 1u);
  EXPECT_EQ(report.nodes[0].events, 2);
  EXPECT_EQ(report.nodes[0].last_checkpoint_seq, 2);
}

// A server of its own (scripts/pg-test-server.sh in a temp dir), stopped and
// started again under a running AuditLog.
class PrivateServer {
 public:
  PrivateServer() : dir_(ksef::testing::MakeTempDir("ksef-pg-restart")) {}
  ~PrivateServer() {
    Run("stop");
    ksef::testing::RunCommand("rm -rf " + dir_);
  }
  // Returns the conninfo printed by `start`, or "" (with a test failure).
  std::string Run(const std::string& action) {
    std::string out;
    const int rc = ksef::testing::RunCommand(
        absl::StrCat("bash ", SourceDir(), "/scripts/pg-test-server.sh ", action, " ", dir_), &out);
    EXPECT_EQ(rc, 0) << action << ": " << out;
    const std::string kExport = "export KSEF_TEST_PG='";
    const size_t at = out.find(kExport);
    if (at == std::string::npos) return "";
    const size_t begin = at + kExport.size();
    return out.substr(begin, out.find('\'', begin) - begin);
  }

 private:
  static std::string SourceDir() {
    if (const char* env = std::getenv("KSEF_SOURCE_DIR"); env != nullptr && *env != '\0') {
      return env;
    }
    const std::string file = __FILE__;  // <source>/audit/postgres_audit_store_test.cc
    return file.substr(0, file.rfind("/audit/"));
  }
  std::string dir_;
};

TEST(PostgresAuditStoreTest, ServerDownFailsClosedAndRecoversWhenItIsBack) {
  PrivateServer server;
  const std::string conninfo = server.Run("start");
  ASSERT_FALSE(conninfo.empty());
  auto store = PostgresAuditStore::Open(conninfo);
  ASSERT_TRUE(store.ok()) << store.status();
  TestAuditKey key;
  AuditLogOptions options;
  options.node = "node-a";
  options.checkpoint_interval = absl::Hours(1);
  options.probe_interval = absl::Milliseconds(50);
  auto log = AuditLog::Start(store->get(), key.signer(), options).value();
  ASSERT_TRUE(log->Record(TestEvent("SignAuthToken", "keys/a", 1)).ok());

  server.Run("stop");
  auto refused = log->Record(TestEvent("SignAuthToken", "keys/a", 2));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("PostgreSQL audit store"));
  EXPECT_FALSE(log->healthy());
  auto head = (*store)->Head("node-a");
  EXPECT_EQ(head.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(head.status().message(), HasSubstr("check that the PostgreSQL server is running"));

  ASSERT_EQ(server.Run("start"), conninfo);
  for (int i = 0; i < 250 && !log->healthy(); ++i) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(log->healthy());
  auto next = log->Record(TestEvent("SignAuthToken", "keys/a", 3));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->seq, 2);  // the refused event left no trace
  log->Shutdown();
  auto report = VerifyAuditChain(**store, key.spki()).value();
  EXPECT_TRUE(report.ok) << report.problem;
  ASSERT_EQ(report.nodes.size(), 1u);
  EXPECT_EQ(report.nodes[0].events, 2);
}

TEST(PostgresAuditStoreTest, TwoReplicasOpeningTogetherCreateTheSchemaOnce) {
  auto harness = PostgresHarness::Create();
  ASSERT_TRUE(harness.ok()) << harness.status();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto store = (*harness)->Open();
      if (!store.ok()) {
        ADD_FAILURE() << store.status();
        failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// The tables made by an administrator; the service's role has only the
// privileges the header lists (no CREATE, no DELETE, no UPDATE of events).
TEST(PostgresAuditStoreTest, WorksWithALeastPrivilegeRole) {
  auto db = ksef::testing::TestPostgresDb::Create("ksef_audit_role");
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(PostgresAuditStore::Open((*db)->conninfo()).ok());  // creates the tables
  const std::string role = absl::StrCat((*db)->name(), "_writer");
  ASSERT_TRUE(
      ksef::testing::TestPostgresDb::AdminExec(absl::StrCat("CREATE ROLE ", role, " LOGIN")).ok());
  {
    ASSERT_TRUE(
        (*db)
            ->Exec(absl::StrCat("GRANT SELECT, INSERT ON audit_events, audit_checkpoints TO ", role,
                                "; GRANT UPDATE ON audit_checkpoints TO ", role,
                                "; GRANT SELECT, INSERT, UPDATE, DELETE ON audit_node_leases TO ",
                                role, "; GRANT USAGE ON SEQUENCE audit_events_id_seq TO ", role))
            .ok());
    auto store = PostgresAuditStore::Open(absl::StrCat((*db)->conninfo(), " user=", role));
    ASSERT_TRUE(store.ok()) << store.status();
    TestAuditKey key;
    AuditLogOptions options;
    options.node = "node-a";
    auto log = AuditLog::Start(store->get(), key.signer(), options).value();
    auto e = log->Record(TestEvent("SignAuthToken", "keys/a", 1));
    ASSERT_TRUE(e.ok()) << e.status();
    log->Shutdown();
    auto report = VerifyAuditChain(**store, key.spki()).value();
    EXPECT_TRUE(report.ok) << report.problem;
    ASSERT_EQ(report.nodes.size(), 1u);
    EXPECT_EQ(report.nodes[0].last_checkpoint_seq, 1);
  }
  EXPECT_TRUE((*db)->Exec(absl::StrCat("DROP OWNED BY ", role)).ok());
  EXPECT_TRUE(ksef::testing::TestPostgresDb::AdminExec(absl::StrCat("DROP ROLE ", role)).ok());
}

// Tables from before chained checkpoints: a role that may not ALTER them is
// told which migration to run; once the owner has opened the store (and so
// migrated it), the role works.
TEST(PostgresAuditStoreTest, LeastPrivilegeRoleIsToldToRunTheCheckpointMigration) {
  auto db = ksef::testing::TestPostgresDb::Create("ksef_audit_migrate");
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(PostgresAuditStore::Open((*db)->conninfo()).ok());
  ASSERT_TRUE((*db)
                  ->Exec("ALTER TABLE audit_checkpoints DROP COLUMN version, DROP COLUMN "
                         "prev_hash, DROP COLUMN count, DROP COLUMN closing")
                  .ok());
  const std::string role = absl::StrCat((*db)->name(), "_writer");
  ASSERT_TRUE(
      ksef::testing::TestPostgresDb::AdminExec(absl::StrCat("CREATE ROLE ", role, " LOGIN")).ok());
  ASSERT_TRUE(
      (*db)
          ->Exec(absl::StrCat("GRANT SELECT, INSERT ON audit_events, audit_checkpoints TO ", role,
                              "; GRANT UPDATE ON audit_checkpoints TO ", role,
                              "; GRANT SELECT, INSERT, UPDATE, DELETE ON audit_node_leases TO ",
                              role, "; GRANT USAGE ON SEQUENCE audit_events_id_seq TO ", role))
          .ok());
  const std::string as_role = absl::StrCat((*db)->conninfo(), " user=", role);
  auto refused = PostgresAuditStore::Open(as_role);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("add the checkpoint chain columns"));
  EXPECT_THAT(refused.status().message(), HasSubstr("docs/operations.md"));
  ASSERT_TRUE(PostgresAuditStore::Open((*db)->conninfo()).ok());  // the owner migrates
  EXPECT_TRUE(PostgresAuditStore::Open(as_role).ok());
  EXPECT_TRUE((*db)->Exec(absl::StrCat("DROP OWNED BY ", role)).ok());
  EXPECT_TRUE(ksef::testing::TestPostgresDb::AdminExec(absl::StrCat("DROP ROLE ", role)).ok());
}

TEST(AuditStoreFactoryTest, OpensEachKindAndRefusesUnknownOnes) {
  AuditStoreConfig unknown;
  unknown.kind = "mysql";
  auto bad = OpenAuditStore(unknown);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("mysql"));

  AuditStoreConfig no_path;
  EXPECT_EQ(OpenAuditStore(no_path).status().code(), absl::StatusCode::kInvalidArgument);
  AuditStoreConfig no_conninfo;
  no_conninfo.kind = "postgres";
  EXPECT_EQ(OpenAuditStore(no_conninfo).status().code(), absl::StatusCode::kInvalidArgument);

  const std::string dir = ksef::testing::MakeTempDir("ksef-audit-factory");
  AuditStoreConfig sqlite;
  sqlite.sqlite_path = dir + "/audit.db";
  auto s = OpenAuditStore(sqlite);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->Head("n").value().seq, 0);
  ksef::testing::RunCommand("rm -rf " + dir);

  auto db = ksef::testing::TestPostgresDb::Create("ksef_audit_factory");
  ASSERT_TRUE(db.ok()) << db.status();
  AuditStoreConfig postgres;
  postgres.kind = "postgres";
  postgres.postgres_conninfo = (*db)->conninfo();
  auto p = OpenAuditStore(postgres);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->Head("n").value().seq, 0);
}

}  // namespace
}  // namespace ksef::audit
