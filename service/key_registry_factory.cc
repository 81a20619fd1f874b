#include "service/key_registry_factory.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "service/postgres_key_registry.h"
#include "service/sqlite_key_registry.h"

namespace ksef::service {

absl::StatusOr<std::unique_ptr<KeyRegistry>> OpenKeyRegistry(const KeyRegistryConfig& config) {
  if (config.kind == "sqlite") {
    if (config.sqlite_path.empty()) {
      return absl::InvalidArgumentError(
          "key registry kind \"sqlite\" needs the path of the registry database file");
    }
    KSEF_ASSIGN_OR_RETURN(std::unique_ptr<SqliteKeyRegistry> registry,
                          SqliteKeyRegistry::Open(config.sqlite_path));
    return std::unique_ptr<KeyRegistry>(std::move(registry));
  }
  if (config.kind == "postgres" || config.kind == "postgresql") {
    if (config.postgres_conninfo.empty()) {
      return absl::InvalidArgumentError(
          "key registry kind \"postgres\" needs the PostgreSQL connection settings (a libpq "
          "conninfo such as \"host=db.example port=5432 dbname=ksef user=ksef\")");
    }
    KSEF_ASSIGN_OR_RETURN(std::unique_ptr<PostgresKeyRegistry> registry,
                          PostgresKeyRegistry::Open(config.postgres_conninfo));
    return std::unique_ptr<KeyRegistry>(std::move(registry));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown key registry kind \"", config.kind,
                                                 "\"; use \"sqlite\" or \"postgres\""));
}

}  // namespace ksef::service
