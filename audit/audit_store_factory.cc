#include "audit/audit_store_factory.h"

#include "audit/postgres_audit_store.h"
#include "audit/sqlite_audit_store.h"
#include "common/status_macros.h"
#include "common/store_kind.h"

namespace ksef::audit {

absl::StatusOr<std::unique_ptr<AuditStore>> OpenAuditStore(const AuditStoreConfig& config) {
  KSEF_ASSIGN_OR_RETURN(
      StoreKind kind,
      CheckStoreKind("audit store", config.kind, config.sqlite_path, config.postgres_conninfo));
  if (kind == StoreKind::kSqlite) {
    KSEF_ASSIGN_OR_RETURN(std::unique_ptr<SqliteAuditStore> store,
                          SqliteAuditStore::Open(config.sqlite_path));
    return std::unique_ptr<AuditStore>(std::move(store));
  }
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<PostgresAuditStore> store,
                        PostgresAuditStore::Open(config.postgres_conninfo));
  return std::unique_ptr<AuditStore>(std::move(store));
}

}  // namespace ksef::audit
