#include "service/internal/sqlite_registry_schema.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace ksef::service::internal {
namespace {

// 1: the first registry. Files of versions before user_version was kept
// have these tables already (CREATE ... IF NOT EXISTS), some also
// usage_limit, and not always internal_keys.
constexpr char kStep1[] = R"sql(
CREATE TABLE IF NOT EXISTS keys (
  key_id TEXT PRIMARY KEY,
  cka_id BLOB NOT NULL UNIQUE,
  subject_type INTEGER NOT NULL,
  subject_value TEXT NOT NULL,
  purpose INTEGER NOT NULL,
  algorithm INTEGER NOT NULL,
  state INTEGER NOT NULL,
  create_us INTEGER NOT NULL,
  update_us INTEGER NOT NULL,
  destroy_us INTEGER,
  attestation INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  pkcs11_uri TEXT NOT NULL,
  certificate BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_subject ON keys (subject_type, subject_value);
CREATE TABLE IF NOT EXISTS internal_keys (
  role TEXT PRIMARY KEY,
  cka_id BLOB NOT NULL UNIQUE
);
)sql";

// 2: usage limits (0 = no limit).
constexpr char kStep2[] = "ALTER TABLE keys ADD COLUMN usage_limit INTEGER NOT NULL DEFAULT 0;";

// 3: compare-and-set versions and usage counted in the registry. `used` of
// the rows already there is NULL: not counted until InitUsage.
constexpr char kStep3[] = R"sql(
ALTER TABLE keys ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE keys ADD COLUMN used INTEGER;
ALTER TABLE keys ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0;
CREATE TABLE usage_reservations (
  key_id TEXT NOT NULL,
  node TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (key_id, node)
);
)sql";

struct Step {
  const char* sql;
  // Skip the SQL when keys already has this column (files from before
  // user_version was kept); nullptr: always run.
  const char* unless_column;
};
constexpr Step kSteps[kSqliteRegistryVersion] = {
    {kStep1, nullptr}, {kStep2, "usage_limit"}, {kStep3, nullptr}};

absl::StatusOr<int64_t> QueryInt(SqliteDb& db, const std::string& sql, const char* what) {
  Statement st(db, sql.c_str());
  KSEF_RETURN_IF_ERROR(st.prepared());
  const int rc = st.Step();
  if (rc != SQLITE_ROW) return st.Check(rc == SQLITE_DONE ? SQLITE_ERROR : rc, what);
  return st.Int(0);
}

// Applies step `version` if the file is still at version - 1.
absl::Status ApplyStep(SqliteDb& db, int version) {
  KSEF_ASSIGN_OR_RETURN(int64_t at, QueryInt(db, "PRAGMA user_version", "read schema version"));
  if (at >= version) return absl::OkStatus();  // another process was first
  const Step& step = kSteps[version - 1];
  bool skip = false;
  if (step.unless_column != nullptr) {
    KSEF_ASSIGN_OR_RETURN(int64_t has,
                          QueryInt(db,
                                   absl::StrCat("SELECT count(*) FROM pragma_table_info('keys') "
                                                "WHERE name='",
                                                step.unless_column, "'"),
                                   "schema check"));
    skip = has > 0;
  }
  if (!skip) KSEF_RETURN_IF_ERROR(db.Exec(step.sql));
  return db.Exec(absl::StrCat("PRAGMA user_version=", version, ";").c_str());
}

}  // namespace

absl::Status MigrateSqliteRegistry(SqliteDb& db, const std::string& path) {
  KSEF_ASSIGN_OR_RETURN(int64_t at, QueryInt(db, "PRAGMA user_version", "read schema version"));
  if (at > kSqliteRegistryVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key registry ", path, " has schema version ", at, ", newer than this ksef-hsmd knows (",
        kSqliteRegistryVersion, "); run the ksef-hsmd version that wrote it, or a newer one"));
  }
  for (int version = static_cast<int>(at) + 1; version <= kSqliteRegistryVersion; ++version) {
    KSEF_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE;"));
    absl::Status s = ApplyStep(db, version);
    if (s.ok()) s = db.Exec("COMMIT;");
    if (!s.ok()) {
      (void)db.Exec("ROLLBACK;");
      return absl::Status(
          s.code(), absl::StrCat("key registry ", path, ": migration to schema version ", version,
                                 " failed: ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace ksef::service::internal
