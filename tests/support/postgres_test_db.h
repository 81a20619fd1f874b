// TestPostgresDb: a fresh, empty PostgreSQL database for one test, created on
// the server named by the environment variable KSEF_TEST_PG (a libpq conninfo
// with a superuser, e.g. "host=/tmp/ksef-pg port=54329 user=ksef
// dbname=postgres"); scripts/test.sh starts such a server with
// scripts/pg-test-server.sh and sets it. The database is dropped on
// destruction (WITH (FORCE): connections still open are closed).
// Without KSEF_TEST_PG, Create() fails with a hint: tests must fail, never
// skip, without a server. Thread-compatible.
#ifndef KSEF_TESTS_SUPPORT_POSTGRES_TEST_DB_H_
#define KSEF_TESTS_SUPPORT_POSTGRES_TEST_DB_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ksef::testing {

class TestPostgresDb {
 public:
  // FAILED_PRECONDITION when KSEF_TEST_PG is unset; UNAVAILABLE when the
  // server cannot be reached or the database cannot be created.
  static absl::StatusOr<std::unique_ptr<TestPostgresDb>> Create(
      const std::string& prefix = "ksef_test");
  ~TestPostgresDb();
  TestPostgresDb(const TestPostgresDb&) = delete;
  TestPostgresDb& operator=(const TestPostgresDb&) = delete;

  const std::string& name() const { return name_; }
  // KSEF_TEST_PG with dbname set to this database.
  const std::string& conninfo() const { return conninfo_; }

  // Runs SQL (one or more statements, no results) on this database.
  absl::Status Exec(const std::string& sql) const;
  // Runs SQL on the admin database (KSEF_TEST_PG as given).
  static absl::Status AdminExec(const std::string& sql);

  // KSEF_TEST_PG, or FAILED_PRECONDITION with the hint.
  static absl::StatusOr<std::string> AdminConninfo();

 private:
  TestPostgresDb(std::string name, std::string conninfo)
      : name_(std::move(name)), conninfo_(std::move(conninfo)) {}
  std::string name_;
  std::string conninfo_;
};

// Runs SQL on the database of `conninfo`.
absl::Status PostgresExec(const std::string& conninfo, const std::string& sql);

}  // namespace ksef::testing

#endif  // KSEF_TESTS_SUPPORT_POSTGRES_TEST_DB_H_
