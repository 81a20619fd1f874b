#include "tests/support/postgres_test_db.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <random>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace ksef::testing {
namespace {

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

constexpr char kHint[] =
    "KSEF_TEST_PG is not set: the PostgreSQL audit store tests need a PostgreSQL server. "
    "Run scripts/test.sh (it starts one), or start one yourself with\n"
    "  eval \"$(scripts/pg-test-server.sh start /tmp/ksef-pg)\"\n"
    "and run the tests in the same shell (scripts/pg-test-server.sh stop /tmp/ksef-pg ends it)";

// Re-serializes a conninfo (key=value or URI) with dbname replaced.
absl::StatusOr<std::string> WithDbname(const std::string& conninfo, const std::string& dbname) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  if (err != nullptr) PQfreemem(err);
  if (options == nullptr) {
    return absl::InvalidArgumentError("KSEF_TEST_PG is not a valid libpq conninfo");
  }
  std::vector<std::string> parts;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    const std::string key = o->keyword;
    if (key == "dbname" || o->val == nullptr) continue;
    parts.push_back(
        absl::StrCat(key, "='", absl::StrReplaceAll(o->val, {{"\\", "\\\\"}, {"'", "\\'"}}), "'"));
  }
  PQconninfoFree(options);
  parts.push_back(absl::StrCat("dbname='", dbname, "'"));
  return absl::StrJoin(parts, " ");
}

}  // namespace

absl::Status PostgresExec(const std::string& conninfo, const std::string& sql) {
  std::unique_ptr<PGconn, ConnDeleter> conn(PQconnectdb(conninfo.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the test PostgreSQL server: ",
                     absl::StripAsciiWhitespace(PQerrorMessage(conn.get())),
                     " (is it running? scripts/pg-test-server.sh start DIR; KSEF_TEST_PG)"));
  }
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  std::unique_ptr<PGresult, ResultDeleter> result(PQexec(conn.get(), sql.c_str()));
  const ExecStatusType st = PQresultStatus(result.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return absl::InternalError(
        absl::StrCat(sql, ": ", absl::StripAsciiWhitespace(PQresultErrorMessage(result.get()))));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TestPostgresDb::AdminConninfo() {
  const char* env = std::getenv("KSEF_TEST_PG");
  if (env == nullptr || *env == '\0') return absl::FailedPreconditionError(kHint);
  return std::string(env);
}

absl::Status TestPostgresDb::AdminExec(const std::string& sql) {
  absl::StatusOr<std::string> admin = AdminConninfo();
  if (!admin.ok()) return admin.status();
  return PostgresExec(*admin, sql);
}

absl::StatusOr<std::unique_ptr<TestPostgresDb>> TestPostgresDb::Create(const std::string& prefix) {
  absl::StatusOr<std::string> admin = AdminConninfo();
  if (!admin.ok()) return admin.status();
  static std::atomic<int> counter{0};
  std::random_device rd;
  const std::string name = absl::AsciiStrToLower(
      absl::StrCat(prefix, "_", getpid(), "_", counter++, "_", rd() % 100000));
  absl::StatusOr<std::string> conninfo = WithDbname(*admin, name);
  if (!conninfo.ok()) return conninfo.status();
  absl::Status created = PostgresExec(*admin, absl::StrCat("CREATE DATABASE \"", name, "\""));
  if (!created.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the test database: ", created.message()));
  }
  return std::unique_ptr<TestPostgresDb>(new TestPostgresDb(name, *conninfo));
}

TestPostgresDb::~TestPostgresDb() {
  absl::Status dropped =
      AdminExec(absl::StrCat("DROP DATABASE IF EXISTS \"", name_, "\" WITH (FORCE)"));
  if (!dropped.ok()) std::cerr << "warning: " << dropped << "\n";
}

absl::Status TestPostgresDb::Exec(const std::string& sql) const {
  return PostgresExec(conninfo_, sql);
}

}  // namespace ksef::testing
