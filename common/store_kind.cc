#include "common/store_kind.h"

#include "absl/strings/str_cat.h"

namespace ksef {

absl::StatusOr<StoreKind> CheckStoreKind(absl::string_view store, absl::string_view kind,
                                         absl::string_view sqlite_path,
                                         absl::string_view conninfo) {
  if (kind == "sqlite") {
    if (sqlite_path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          store, " kind \"sqlite\" needs the path of the ", store, "'s database file"));
    }
    return StoreKind::kSqlite;
  }
  if (kind == "postgres" || kind == "postgresql") {
    if (conninfo.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          store,
          " kind \"postgres\" needs the PostgreSQL connection settings (a libpq conninfo "
          "such as \"host=db.example port=5432 dbname=ksef user=ksef\")"));
    }
    return StoreKind::kPostgres;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ", store, " kind \"", kind, "\"; use \"sqlite\" or \"postgres\""));
}

}  // namespace ksef
