// OpenKeyRegistry: the key registry named by the server config, so callers
// need not know the implementations: "sqlite" (the embedded default, one
// file on one host) or "postgres" (shared by every replica of a cluster).
#ifndef KSEF_SERVICE_KEY_REGISTRY_FACTORY_H_
#define KSEF_SERVICE_KEY_REGISTRY_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/key_registry.h"

namespace ksef::service {

struct KeyRegistryConfig {
  std::string kind = "sqlite";    // "sqlite" | "postgres" ("postgresql" too)
  std::string sqlite_path;        // kind == "sqlite"
  std::string postgres_conninfo;  // kind == "postgres": a libpq conninfo or URI
};

// INVALID_ARGUMENT for an unknown kind or a missing path/conninfo; otherwise
// what SqliteKeyRegistry::Open / PostgresKeyRegistry::Open return.
absl::StatusOr<std::unique_ptr<KeyRegistry>> OpenKeyRegistry(const KeyRegistryConfig& config);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_KEY_REGISTRY_FACTORY_H_
