// What only one KeyRegistry store does (the shared contract is in
// key_registry_test.cc): SQLite files of older versions, lock files;
// PostgreSQL's least-privilege role, concurrent schema creation, messages
// without the password; and the factory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sqlite.h"
#include "service/key_registry_factory.h"
#include "service/postgres_key_registry.h"
#include "service/sqlite_key_registry.h"
#include "tests/support/postgres_test_db.h"
#include "tests/support/softhsm_token.h"

namespace ksef::service {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The keys table of the first registries, without usage_limit.
constexpr char kFirstKeysTable[] =
    "CREATE TABLE keys (key_id TEXT PRIMARY KEY, cka_id BLOB NOT NULL UNIQUE, subject_type "
    "INTEGER NOT NULL, subject_value TEXT NOT NULL, purpose INTEGER NOT NULL, algorithm INTEGER "
    "NOT NULL, state INTEGER NOT NULL, create_us INTEGER NOT NULL, update_us INTEGER NOT NULL, "
    "destroy_us INTEGER, attestation INTEGER NOT NULL, public_key BLOB NOT NULL, pkcs11_uri TEXT "
    "NOT NULL, certificate BLOB NOT NULL";
constexpr char kOldRow[] =
    "INSERT INTO keys (key_id, cka_id, subject_type, subject_value, purpose, algorithm, state, "
    "create_us, update_us, destroy_us, attestation, public_key, pkcs11_uri, certificate%s) "
    "VALUES ('old', x'0102', 1, '5260250274', 1, 1, 2, 1000, 2000, NULL, 3, x'3059', "
    "'pkcs11:id=%%01', x''%s);";

class SqliteRegistryTest : public ::testing::Test {
 protected:
  SqliteRegistryTest() : dir_(ksef::testing::MakeTempDir("ksef-registry")) {}
  ~SqliteRegistryTest() override { ksef::testing::RunCommand("rm -rf " + dir_); }

  void MakeOldFile(const std::string& path, bool with_usage_limit) {
    auto db = SqliteDb::Open(path, "old registry");
    ASSERT_TRUE(db.ok()) << db.status();
    const std::string table =
        absl::StrCat(kFirstKeysTable, with_usage_limit ? ", usage_limit INTEGER NOT NULL "
                                                         "DEFAULT 0);"
                                                       : ");");
    ASSERT_TRUE((*db)->Exec(table.c_str()).ok());
    char row[1024];
    std::snprintf(row, sizeof(row), kOldRow, with_usage_limit ? ", usage_limit" : "",
                  with_usage_limit ? ", 7" : "");
    ASSERT_TRUE((*db)->Exec(row).ok()) << row;
  }

  int64_t UserVersion(const std::string& path) {
    auto db = SqliteDb::Open(path, "check");
    Statement st(**db, "PRAGMA user_version");
    EXPECT_EQ(st.Step(), SQLITE_ROW);
    return st.Int(0);
  }

  std::string dir_;
};

TEST_F(SqliteRegistryTest, OlderFilesAreMigrated) {
  for (bool with_usage_limit : {false, true}) {
    SCOPED_TRACE(with_usage_limit ? "with usage_limit" : "without usage_limit");
    const std::string path = absl::StrCat(dir_, "/old-", with_usage_limit, ".db");
    MakeOldFile(path, with_usage_limit);
    auto r = SqliteKeyRegistry::Open(path);
    ASSERT_TRUE(r.ok()) << r.status();
    auto old = (*r)->Get("old");
    ASSERT_TRUE(old.ok()) << old.status();
    EXPECT_EQ(old->cka_id, "\x01\x02");
    EXPECT_EQ(old->usage_limit, with_usage_limit ? 7 : 0);
    EXPECT_EQ(old->version, 1);
    bool counted = true;
    ASSERT_TRUE((*r)->Usage("old", &counted).ok());
    EXPECT_FALSE(counted);  // counted from the audit log by the caller
    ASSERT_TRUE((*r)->RecordInternalKey("audit", "a").ok());  // the table was added
    old->state = KeyState::kDisabled;
    ASSERT_TRUE((*r)->Update(*old).ok());
    EXPECT_EQ(old->version, 2);
    r->reset();
    EXPECT_EQ(UserVersion(path), 3);
    auto again = SqliteKeyRegistry::Open(path);  // nothing left to do
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ((*again)->Get("old")->version, 2);
  }
}

TEST_F(SqliteRegistryTest, NewerFileIsRefused) {
  const std::string path = dir_ + "/newer.db";
  ASSERT_TRUE(SqliteKeyRegistry::Open(path).ok());
  {
    auto db = SqliteDb::Open(path, "newer");
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version=99;").ok());
  }
  auto r = SqliteKeyRegistry::Open(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("schema version 99"));
}

TEST_F(SqliteRegistryTest, LockFilesArePrivateAndExcludeThreads) {
  const std::string path = dir_ + "/keys.db";
  auto r = SqliteKeyRegistry::Open(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->Describe(), "SQLite key registry " + path);
  auto lock = (*r)->Lock(kLockKeyCreation, absl::InfiniteDuration());
  ASSERT_TRUE(lock.ok() && *lock != nullptr);
  struct stat st;
  ASSERT_EQ(::stat((path + ".lock.key-creation").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // The same instance, another thread: excluded too (flock is per open file).
  std::thread([&] { EXPECT_EQ(*(*r)->TryLock(kLockKeyCreation), nullptr); }).join();
  lock->reset();
  std::thread([&] { EXPECT_NE(*(*r)->TryLock(kLockKeyCreation), nullptr); }).join();
}

bool HavePostgres() {
  const char* pg = std::getenv("KSEF_TEST_PG");
  return pg != nullptr && *pg != '\0';
}

// Ids longer than one character: GCC 12 at -O3 reports a -Wrestrict false
// positive when a one-character literal is assigned to a std::string (GCC
// PR 105329).
constexpr char kLimitedKeyId[] = "limited";

KeyRecord LimitedKey(int64_t usage_limit) {
  KeyRecord k;
  k.key_id = kLimitedKeyId;
  k.cka_id = "cka-limited";
  k.usage_limit = usage_limit;
  return k;
}

class PostgresRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HavePostgres()) {
      GTEST_SKIP() << "KSEF_TEST_PG is not set: start a server with scripts/pg-test-server.sh";
    }
  }
};

// Needs no server.
TEST(PostgresRegistryErrorsTest, UnreachableServerIsUnavailableWithoutThePassword) {
  auto r = PostgresKeyRegistry::Open(
      "host=/nonexistent/ksef-pg port=54399 user=registry password=s3cret-Pw9 dbname=keys "
      "connect_timeout=2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("PostgreSQL key registry ("));
  EXPECT_THAT(r.status().message(), HasSubstr("host=/nonexistent/ksef-pg"));
  EXPECT_THAT(r.status().message(), HasSubstr("key registry's PostgreSQL connection settings"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("s3cret-Pw9")));
  auto bad = PostgresKeyRegistry::Open("host=db password='s3cret-Pw9");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("s3cret-Pw9")));
}

TEST_F(PostgresRegistryTest, ReplicasOpeningTogetherCreateTheSchemaOnce) {
  auto db = ksef::testing::TestPostgresDb::Create("ksef_registry_open");
  ASSERT_TRUE(db.ok()) << db.status();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto r = PostgresKeyRegistry::Open((*db)->conninfo());
      EXPECT_TRUE(r.ok()) << r.status();
    });
  }
  for (auto& t : threads) t.join();
}

// The tables made by a first start as their owner; the service's role has
// only the grants the header lists.
TEST_F(PostgresRegistryTest, WorksWithALeastPrivilegeRole) {
  auto db = ksef::testing::TestPostgresDb::Create("ksef_registry_role");
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(PostgresKeyRegistry::Open((*db)->conninfo()).ok());
  const std::string role = absl::StrCat((*db)->name(), "_writer");
  ASSERT_TRUE(
      ksef::testing::TestPostgresDb::AdminExec(absl::StrCat("CREATE ROLE ", role, " LOGIN")).ok());
  {
    ASSERT_TRUE((*db)
                    ->Exec(absl::StrCat("REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT SELECT, "
                                        "INSERT, UPDATE, DELETE ON keys, internal_keys, "
                                        "usage_reservations TO ",
                                        role, "; GRANT SELECT ON ksef_registry_schema TO ", role))
                    .ok());
    auto r = PostgresKeyRegistry::Open(absl::StrCat((*db)->conninfo(), " user=", role));
    ASSERT_TRUE(r.ok()) << r.status();
    KeyRecord k = LimitedKey(2);
    ASSERT_TRUE((*r)->Insert(k).ok());
    k.state = KeyState::kActive;
    ASSERT_TRUE((*r)->Update(k).ok());
    ASSERT_TRUE((*r)->ReserveUse(kLimitedKeyId, "n").ok());
    ASSERT_TRUE((*r)->SettleUse(kLimitedKeyId, "n", true).ok());
    EXPECT_EQ(*(*r)->SettleAbandonedUses("n"), 0);
    ASSERT_TRUE((*r)->RecordInternalKey("audit", "a").ok());
    auto lock = (*r)->Lock(kLockAuditKey, absl::Seconds(5));
    ASSERT_TRUE(lock.ok()) << lock.status();
    ASSERT_TRUE((*r)->Delete(kLimitedKeyId).ok());
  }
  EXPECT_TRUE((*db)->Exec(absl::StrCat("DROP OWNED BY ", role)).ok());
  EXPECT_TRUE(ksef::testing::TestPostgresDb::AdminExec(absl::StrCat("DROP ROLE ", role)).ok());
}

TEST_F(PostgresRegistryTest, ReconnectsAfterTheServerDroppedTheConnections) {
  auto db = ksef::testing::TestPostgresDb::Create("ksef_registry_drop");
  ASSERT_TRUE(db.ok()) << db.status();
  auto r = PostgresKeyRegistry::Open((*db)->conninfo());
  ASSERT_TRUE(r.ok()) << r.status();
  KeyRecord k = LimitedKey(5);
  ASSERT_TRUE((*r)->Insert(k).ok());
  ASSERT_TRUE(ksef::testing::TestPostgresDb::AdminExec(
                  absl::StrCat("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                               "datname='",
                               (*db)->name(), "' AND pid <> pg_backend_pid()"))
                  .ok());
  auto u = (*r)->ReserveUse(kLimitedKeyId, "n");  // retried once on a new connection
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->reserved, 1);
  EXPECT_EQ((*r)->Get(kLimitedKeyId)->version, 1);
}

// A replica that dies (its sessions end) leaves no named lock behind.
TEST_F(PostgresRegistryTest, LockIsReleasedWhenItsSessionEnds) {
  auto db = ksef::testing::TestPostgresDb::Create("ksef_registry_lock");
  ASSERT_TRUE(db.ok()) << db.status();
  auto a = PostgresKeyRegistry::Open((*db)->conninfo());
  auto b = PostgresKeyRegistry::Open((*db)->conninfo());
  ASSERT_TRUE(a.ok() && b.ok());
  auto held = (*a)->Lock(kLockSweeps, absl::Seconds(5));
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*(*b)->TryLock(kLockSweeps), nullptr);
  ASSERT_TRUE(ksef::testing::TestPostgresDb::AdminExec(
                  absl::StrCat("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                               "datname='",
                               (*db)->name(), "' AND pid <> pg_backend_pid()"))
                  .ok());
  auto taken = (*b)->Lock(kLockSweeps, absl::Seconds(5));
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_NE(*taken, nullptr);
  held->reset();  // its session is gone: nothing to release, no error
}

TEST(KeyRegistryFactoryTest, OpensEachKindAndRefusesUnknownOnes) {
  auto bad = OpenKeyRegistry({.kind = "mysql"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("mysql"));
  EXPECT_EQ(OpenKeyRegistry({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenKeyRegistry({.kind = "postgres"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string dir = ksef::testing::MakeTempDir("ksef-registry-factory");
  auto s = OpenKeyRegistry({.sqlite_path = dir + "/keys.db"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT((*s)->Describe(), HasSubstr("SQLite key registry"));
  ksef::testing::RunCommand("rm -rf " + dir);
  if (!HavePostgres()) return;
  auto db = ksef::testing::TestPostgresDb::Create("ksef_registry_factory");
  ASSERT_TRUE(db.ok()) << db.status();
  auto p = OpenKeyRegistry({.kind = "postgresql", .postgres_conninfo = (*db)->conninfo()});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT((*p)->Describe(), HasSubstr("PostgreSQL key registry ("));
  EXPECT_THAT((*p)->Describe(), HasSubstr(absl::StrCat("dbname=", (*db)->name())));
}

}  // namespace
}  // namespace ksef::service
