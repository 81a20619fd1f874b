// The PostgreSQL key registry's schema and its numbered migrations (the
// table ksef_registry_schema holds the version applied). For
// postgres_key_registry.cc only.
#ifndef KSEF_SERVICE_INTERNAL_POSTGRES_REGISTRY_SCHEMA_H_
#define KSEF_SERVICE_INTERNAL_POSTGRES_REGISTRY_SCHEMA_H_

#include "absl/status/status.h"
#include "pg/connection.h"

namespace ksef::service::internal {

inline constexpr int kPostgresRegistryVersion = 1;

// Reads the schema version; when it is older (or there is no schema), applies
// the missing migrations in one transaction under the registry's schema lock.
absl::Status MigratePostgresRegistry(pg::Connection& conn);

}  // namespace ksef::service::internal

#endif  // KSEF_SERVICE_INTERNAL_POSTGRES_REGISTRY_SCHEMA_H_
