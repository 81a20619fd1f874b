#include "audit/audit_store_factory.h"

#include "absl/strings/str_cat.h"
#include "audit/postgres_audit_store.h"
#include "audit/sqlite_audit_store.h"
#include "common/status_macros.h"

namespace ksef::audit {

absl::StatusOr<std::unique_ptr<AuditStore>> OpenAuditStore(const AuditStoreConfig& config) {
  if (config.kind == "sqlite") {
    if (config.sqlite_path.empty()) {
      return absl::InvalidArgumentError(
          "audit store kind \"sqlite\" needs the path of the audit database file");
    }
    KSEF_ASSIGN_OR_RETURN(std::unique_ptr<SqliteAuditStore> store,
                          SqliteAuditStore::Open(config.sqlite_path));
    return std::unique_ptr<AuditStore>(std::move(store));
  }
  if (config.kind == "postgres" || config.kind == "postgresql") {
    if (config.postgres_conninfo.empty()) {
      return absl::InvalidArgumentError(
          "audit store kind \"postgres\" needs the PostgreSQL connection settings (a libpq "
          "conninfo such as \"host=db.example port=5432 dbname=ksef_audit user=ksef\")");
    }
    KSEF_ASSIGN_OR_RETURN(std::unique_ptr<PostgresAuditStore> store,
                          PostgresAuditStore::Open(config.postgres_conninfo));
    return std::unique_ptr<AuditStore>(std::move(store));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown audit store kind \"", config.kind,
                                                 "\"; use \"sqlite\" or \"postgres\""));
}

}  // namespace ksef::audit
