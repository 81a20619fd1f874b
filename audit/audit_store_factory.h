// OpenAuditStore: the audit store named by the server config, so callers
// need not know the implementations: "sqlite" (the embedded default, one
// file) or "postgres" (shared by several replicas).
#ifndef KSEF_AUDIT_AUDIT_STORE_FACTORY_H_
#define KSEF_AUDIT_AUDIT_STORE_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "audit/audit_store.h"

namespace ksef::audit {

struct AuditStoreConfig {
  std::string kind = "sqlite";    // "sqlite" | "postgres" ("postgresql" too)
  std::string sqlite_path;        // kind == "sqlite"
  std::string postgres_conninfo;  // kind == "postgres": a libpq conninfo or URI
};

// INVALID_ARGUMENT for an unknown kind or a missing path/conninfo; otherwise
// what SqliteAuditStore::Open / PostgresAuditStore::Open return.
absl::StatusOr<std::unique_ptr<AuditStore>> OpenAuditStore(const AuditStoreConfig& config);

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_AUDIT_STORE_FACTORY_H_
