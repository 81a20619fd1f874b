#include "service/key_registry_factory.h"

#include "common/status_macros.h"
#include "common/store_kind.h"
#include "service/postgres_key_registry.h"
#include "service/sqlite_key_registry.h"

namespace ksef::service {

absl::StatusOr<std::unique_ptr<KeyRegistry>> OpenKeyRegistry(const KeyRegistryConfig& config) {
  KSEF_ASSIGN_OR_RETURN(
      StoreKind kind,
      CheckStoreKind("key registry", config.kind, config.sqlite_path, config.postgres_conninfo));
  if (kind == StoreKind::kSqlite) {
    KSEF_ASSIGN_OR_RETURN(std::unique_ptr<SqliteKeyRegistry> registry,
                          SqliteKeyRegistry::Open(config.sqlite_path));
    return std::unique_ptr<KeyRegistry>(std::move(registry));
  }
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<PostgresKeyRegistry> registry,
                        PostgresKeyRegistry::Open(config.postgres_conninfo));
  return std::unique_ptr<KeyRegistry>(std::move(registry));
}

}  // namespace ksef::service
