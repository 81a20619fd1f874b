#include "service/internal/postgres_registry_schema.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "pg/advisory_lock.h"

namespace ksef::service::internal {
namespace {

// Distinct from the audit store's ids 1 and 2 of the same class.
constexpr pg::AdvisoryLockKey kSchemaLock{pg::kKsefLockClass, 10};

// 1: the registry as SqliteKeyRegistry's version 3 has it; key_id in byte
// order (COLLATE "C"), as SQLite sorts, for List's paging.
constexpr char kStep1[] = R"sql(
CREATE TABLE keys (
  key_id TEXT COLLATE "C" PRIMARY KEY,
  cka_id BYTEA NOT NULL UNIQUE,
  subject_type INTEGER NOT NULL,
  subject_value TEXT NOT NULL,
  purpose INTEGER NOT NULL,
  algorithm INTEGER NOT NULL,
  state INTEGER NOT NULL,
  create_us BIGINT NOT NULL,
  update_us BIGINT NOT NULL,
  destroy_us BIGINT,
  attestation INTEGER NOT NULL,
  public_key BYTEA NOT NULL,
  pkcs11_uri TEXT NOT NULL,
  certificate BYTEA NOT NULL,
  usage_limit BIGINT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  used BIGINT,
  reserved BIGINT NOT NULL DEFAULT 0);
CREATE INDEX keys_subject ON keys (subject_type, subject_value);
CREATE TABLE internal_keys (
  role TEXT PRIMARY KEY,
  cka_id BYTEA NOT NULL UNIQUE);
CREATE TABLE usage_reservations (
  key_id TEXT COLLATE "C" NOT NULL,
  node TEXT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (key_id, node));
)sql";

constexpr const char* kSteps[kPostgresRegistryVersion] = {kStep1};

// The stored version; 0 when there is no schema yet.
absl::StatusOr<int64_t> StoredVersion(pg::Connection& conn) {
  pg::PgResultPtr r;
  KSEF_RETURN_IF_ERROR(conn.Exec("SELECT to_regclass('ksef_registry_schema') IS NOT NULL", nullptr,
                                 "look for the schema", &r));
  if (PQntuples(r.get()) != 1 || pg::Int(r.get(), 0, 0) == 0) return 0;
  KSEF_RETURN_IF_ERROR(conn.Exec("SELECT COALESCE(MAX(version), 0) FROM ksef_registry_schema",
                                 nullptr, "read the schema version", &r));
  return pg::Int(r.get(), 0, 0);
}

absl::Status ApplySteps(pg::Connection& conn) {
  KSEF_RETURN_IF_ERROR(conn.Exec(pg::XactLockSql(kSchemaLock), nullptr, "lock the schema"));
  KSEF_RETURN_IF_ERROR(
      conn.ExecScript("CREATE TABLE IF NOT EXISTS ksef_registry_schema (version INTEGER NOT NULL)",
                      "create the schema version table"));
  KSEF_ASSIGN_OR_RETURN(int64_t at, StoredVersion(conn));  // another replica may have been first
  for (int64_t version = at + 1; version <= kPostgresRegistryVersion; ++version) {
    const std::string what = absl::StrCat("migrate the schema to version ", version);
    KSEF_RETURN_IF_ERROR(conn.ExecScript(kSteps[version - 1], what.c_str()));
  }
  if (at == kPostgresRegistryVersion) return absl::OkStatus();
  return conn.ExecScript(absl::StrCat("DELETE FROM ksef_registry_schema; INSERT INTO "
                                      "ksef_registry_schema (version) VALUES (",
                                      kPostgresRegistryVersion, ")")
                             .c_str(),
                         "record the schema version");
}

}  // namespace

absl::Status MigratePostgresRegistry(pg::Connection& conn) {
  KSEF_ASSIGN_OR_RETURN(int64_t at, StoredVersion(conn));
  if (at == kPostgresRegistryVersion) return absl::OkStatus();
  if (at > kPostgresRegistryVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        conn.Name(), ": the schema has version ", at, ", newer than this ksef-hsmd knows (",
        kPostgresRegistryVersion, "); run the ksef-hsmd version that wrote it, or a newer one"));
  }
  bool retry_safe = true;
  absl::Status s = conn.Transaction(&retry_safe, "create or migrate the schema",
                                    [&] { return ApplySteps(conn); });
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(s.message(), " (the schema is at version ", at,
                                             ", this ksef-hsmd needs ", kPostgresRegistryVersion,
                                             ": start it once with a role that may create and "
                                             "alter the tables, e.g. their owner)"));
}

}  // namespace ksef::service::internal
