// SqliteDb's one-statement Exec (from the statement cache), on an SQLite
// file in a temp dir.
#include <stdlib.h>

#include <filesystem>

#include "common/sqlite.h"
#include "gtest/gtest.h"

namespace ksef {
namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ksef-sqlite-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/t.db";
    auto db = SqliteDb::Open(path_, "test store");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Exec("CREATE TABLE t (v TEXT);").ok());
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_, path_;
  std::unique_ptr<SqliteDb> db_;
};

TEST_F(SqliteTest, OneStatementExecFailsWithTheStatementNamed) {
  ASSERT_TRUE(db_->Exec("BEGIN IMMEDIATE").ok());
  absl::Status again = db_->Exec("BEGIN IMMEDIATE");
  EXPECT_EQ(again.code(), absl::StatusCode::kInternal);
  EXPECT_NE(again.message().find("test store BEGIN IMMEDIATE: "), std::string::npos) << again;
  EXPECT_TRUE(db_->Exec("ROLLBACK").ok());
  EXPECT_TRUE(db_->Exec("BEGIN IMMEDIATE").ok());  // the cached statement works again
  EXPECT_TRUE(db_->Exec("COMMIT;").ok());
}

}  // namespace
}  // namespace ksef
