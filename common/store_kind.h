// The kind of store a config setting names, for the stores that come in two
// implementations (audit store, key registry): "sqlite" (the embedded
// default, one file on one host) or "postgres" / "postgresql" (shared by the
// replicas of a cluster). One home for the accepted names and for what each
// kind needs, so the factories (audit/audit_store_factory.h,
// service/key_registry_factory.h) read the same.
#ifndef KSEF_COMMON_STORE_KIND_H_
#define KSEF_COMMON_STORE_KIND_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ksef {

enum class StoreKind { kSqlite, kPostgres };

// INVALID_ARGUMENT naming `store` ("audit store") for an unknown kind, for
// "sqlite" without `sqlite_path`, or for "postgres" without `conninfo`.
absl::StatusOr<StoreKind> CheckStoreKind(absl::string_view store, absl::string_view kind,
                                         absl::string_view sqlite_path, absl::string_view conninfo);

}  // namespace ksef

#endif  // KSEF_COMMON_STORE_KIND_H_
