// The SQLite key registry's schema and its numbered migrations (PRAGMA
// user_version counts those applied). For sqlite_key_registry.cc only.
#ifndef KSEF_SERVICE_INTERNAL_SQLITE_REGISTRY_SCHEMA_H_
#define KSEF_SERVICE_INTERNAL_SQLITE_REGISTRY_SCHEMA_H_

#include "absl/status/status.h"
#include "common/sqlite.h"

namespace ksef::service::internal {

// The schema version this build writes.
inline constexpr int kSqliteRegistryVersion = 3;

// Applies the migrations `db` lacks, each in one BEGIN IMMEDIATE transaction
// (two processes opening one file apply each step once).
// FAILED_PRECONDITION for a file of a newer version.
absl::Status MigrateSqliteRegistry(SqliteDb& db, const std::string& path);

}  // namespace ksef::service::internal

#endif  // KSEF_SERVICE_INTERNAL_SQLITE_REGISTRY_SCHEMA_H_
