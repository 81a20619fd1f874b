#include "service/postgres_key_registry.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "pg/advisory_lock.h"
#include "service/internal/key_registry_rows.h"
#include "service/internal/postgres_registry_schema.h"

namespace ksef::service {
namespace {

using internal::UsageRow;

pg::ConnectionOptions Options() {
  // READ COMMITTED whatever the server's default: the conditional updates
  // below re-check their WHERE on the row a concurrent writer committed, so
  // they neither fail nor overshoot under contention.
  return {.store = "key registry",
          .application_name = "ksef-hsmd-registry",
          .session_sql = "SET default_transaction_isolation TO 'read committed'"};
}

// A result row as key_registry_rows.h reads it.
struct Row {
  const PGresult* r;
  int row;
  int64_t Int(int col) const { return pg::Int(r, row, col); }
  std::string Bytes(int col) const { return pg::Bytes(r, row, col); }
  bool IsNull(int col) const { return pg::IsNull(r, row, col); }
};

// A named lock: a session advisory lock on a connection of its own.
class AdvisoryRegistryLock final : public RegistryLock {
 public:
  AdvisoryRegistryLock(std::unique_ptr<pg::Connection> conn, pg::AdvisoryLockKey key)
      : conn_(std::move(conn)), key_(key) {}
  // Closing the session would release it too; unlocking first says so in
  // the server's log of a still-open connection.
  ~AdvisoryRegistryLock() override { (void)pg::AdvisoryUnlock(*conn_, key_); }

 private:
  const std::unique_ptr<pg::Connection> conn_;
  const pg::AdvisoryLockKey key_;
};

absl::StatusOr<std::optional<UsageRow>> ReadUsage(pg::Connection& conn, const std::string& key_id) {
  pg::Params p;
  pg::PgResultPtr r;
  KSEF_RETURN_IF_ERROR(conn.Exec(
      absl::StrCat("SELECT used, reserved, usage_limit FROM keys WHERE key_id=", p.Text(key_id)),
      &p, "read usage", &r));
  if (PQntuples(r.get()) == 0) return std::optional<UsageRow>();
  UsageRow row;
  row.counted = !pg::IsNull(r.get(), 0, 0);
  row.usage = KeyUsage{row.counted ? pg::Int(r.get(), 0, 0) : 0, pg::Int(r.get(), 0, 1),
                       pg::Int(r.get(), 0, 2)};
  return row;
}

absl::StatusOr<bool> Exists(pg::Connection& conn, const std::string& key_id) {
  KSEF_ASSIGN_OR_RETURN(std::optional<UsageRow> row, ReadUsage(conn, key_id));
  return row.has_value();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresKeyRegistry>> PostgresKeyRegistry::Open(
    const std::string& conninfo) {
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> conn,
                        pg::Connection::Open(conninfo, Options()));
  KSEF_RETURN_IF_ERROR(internal::MigratePostgresRegistry(*conn));
  return std::unique_ptr<PostgresKeyRegistry>(new PostgresKeyRegistry(
      std::make_unique<pg::Pool>(conninfo, Options(), std::move(conn), kPoolSize)));
}

std::string PostgresKeyRegistry::Describe() const {
  return absl::StrCat("PostgreSQL key registry (", pool_->description(), ")");
}

absl::Status PostgresKeyRegistry::Write(const char* what,
                                        const std::function<absl::Status(pg::Connection&)>& body) {
  return Run([&](pg::Connection& conn, bool* retry_safe) {
    return conn.Transaction(retry_safe, what, [&] { return body(conn); });
  });
}

absl::Status PostgresKeyRegistry::Insert(KeyRecord& record) {
  absl::Status s = Write("insert", [&](pg::Connection& conn) {
    pg::Params p;
    return conn.Exec(internal::InsertSql(record, p), &p, "insert");
  });
  if (absl::IsAlreadyExists(s)) return internal::KeyTaken(record.key_id);
  KSEF_RETURN_IF_ERROR(s);
  record.version = 1;
  return absl::OkStatus();
}

absl::Status PostgresKeyRegistry::Update(KeyRecord& record) {
  absl::Status s = Write("update", [&](pg::Connection& conn) -> absl::Status {
    pg::Params p;
    pg::PgResultPtr r;
    KSEF_RETURN_IF_ERROR(
        conn.Exec(internal::UpdateSql(record, p) + " RETURNING version", &p, "update", &r));
    if (PQntuples(r.get()) == 1) return absl::OkStatus();
    KSEF_ASSIGN_OR_RETURN(bool exists, Exists(conn, record.key_id));
    return internal::UpdateMissed(record.key_id, exists);
  });
  if (absl::IsAlreadyExists(s)) return internal::KeyTaken(record.key_id);  // cka_id taken
  KSEF_RETURN_IF_ERROR(s);
  ++record.version;
  return absl::OkStatus();
}

absl::Status PostgresKeyRegistry::Delete(const std::string& key_id) {
  return Write("delete", [&](pg::Connection& conn) -> absl::Status {
    pg::Params p;
    const std::string id = p.Text(key_id);
    KSEF_RETURN_IF_ERROR(
        conn.Exec("DELETE FROM usage_reservations WHERE key_id=" + id, &p, "delete"));
    return conn.Exec("DELETE FROM keys WHERE key_id=" + id, &p, "delete");
  });
}

absl::StatusOr<KeyRecord> PostgresKeyRegistry::GetWhere(const char* column,
                                                        const std::string& value, bool bytea) {
  std::optional<KeyRecord> out;
  KSEF_RETURN_IF_ERROR(Run([&](pg::Connection& conn, bool*) -> absl::Status {
    pg::Params p;
    pg::PgResultPtr r;
    KSEF_RETURN_IF_ERROR(
        conn.Exec(absl::StrCat("SELECT ", internal::kSelectColumns, " FROM keys WHERE ", column,
                               "=", bytea ? p.Bytea(value) : p.Text(value)),
                  &p, "get", &r));
    if (PQntuples(r.get()) == 1) out = internal::ReadRecord(Row{r.get(), 0});
    return absl::OkStatus();
  }));
  if (out) return *std::move(out);
  return bytea ? absl::NotFoundError("no key with this PKCS#11 id") : internal::KeyNotFound(value);
}

absl::StatusOr<KeyRecord> PostgresKeyRegistry::Get(const std::string& key_id) {
  return GetWhere("key_id", key_id, /*bytea=*/false);
}

absl::StatusOr<KeyRecord> PostgresKeyRegistry::GetByCkaId(const std::string& cka_id) {
  return GetWhere("cka_id", cka_id, /*bytea=*/true);
}

absl::StatusOr<std::vector<KeyRecord>> PostgresKeyRegistry::List(const KeyFilter& filter,
                                                                 const std::string& after_key_id,
                                                                 int limit, int* total) {
  pg::Params p;
  const std::string cond = internal::FilterSql(filter, p);
  pg::Params counted = p;  // the count's statement has no cursor parameters
  const std::string sql =
      absl::StrCat("SELECT ", internal::kSelectColumns, " FROM keys WHERE ", cond, " AND key_id > ",
                   p.Text(after_key_id), " ORDER BY key_id LIMIT ", p.Int(limit));
  std::vector<KeyRecord> out;
  KSEF_RETURN_IF_ERROR(Run([&](pg::Connection& conn, bool*) -> absl::Status {
    pg::PgResultPtr r;
    if (total != nullptr) {
      KSEF_RETURN_IF_ERROR(
          conn.Exec(absl::StrCat("SELECT count(*) FROM keys WHERE ", cond), &counted, "count", &r));
      *total = static_cast<int>(pg::Int(r.get(), 0, 0));
    }
    KSEF_RETURN_IF_ERROR(conn.Exec(sql, &p, "list", &r));
    out.clear();
    for (int i = 0; i < PQntuples(r.get()); ++i)
      out.push_back(internal::ReadRecord(Row{r.get(), i}));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::string> PostgresKeyRegistry::GetInternalKey(const std::string& role) {
  std::optional<std::string> out;
  KSEF_RETURN_IF_ERROR(Run([&](pg::Connection& conn, bool*) -> absl::Status {
    pg::Params p;
    pg::PgResultPtr r;
    KSEF_RETURN_IF_ERROR(
        conn.Exec(absl::StrCat("SELECT cka_id FROM internal_keys WHERE role=", p.Text(role)), &p,
                  "get internal key", &r));
    if (PQntuples(r.get()) == 1) out = pg::Bytes(r.get(), 0, 0);
    return absl::OkStatus();
  }));
  if (out) return *std::move(out);
  return internal::InternalKeyNotFound(role);
}

absl::Status PostgresKeyRegistry::RecordInternalKey(const std::string& role,
                                                    const std::string& cka_id) {
  absl::Status s = Write("record internal key", [&](pg::Connection& conn) {
    pg::Params p;
    return conn.Exec(absl::StrCat("INSERT INTO internal_keys (role, cka_id) VALUES (", p.Text(role),
                                  ", ", p.Bytea(cka_id), ")"),
                     &p, "record internal key");
  });
  if (absl::IsAlreadyExists(s)) return internal::InternalKeyTaken(role);
  return s;
}

// --- usage limits. Every statement that changes a key's counts locks the
// key's row before its usage_reservations row (ReserveUse's UPDATE,
// SettleUse's SELECT ... FOR UPDATE, SettleAbandonedUses in key order), so
// concurrent reservations and settlements never deadlock.

absl::StatusOr<KeyUsage> PostgresKeyRegistry::ReserveUse(const std::string& key_id,
                                                         const std::string& node) {
  std::optional<KeyUsage> taken;
  std::optional<UsageRow> refused;
  KSEF_RETURN_IF_ERROR(Write("reserve a use", [&](pg::Connection& conn) -> absl::Status {
    pg::Params p;
    const std::string id = p.Text(key_id);
    const std::string sql = absl::StrCat(
        "WITH r AS (UPDATE keys SET reserved=reserved+1 WHERE key_id=", id,
        " AND used IS NOT NULL AND used+reserved<usage_limit RETURNING used, reserved, "
        "usage_limit), s AS (INSERT INTO usage_reservations (key_id, node, n) SELECT ",
        id, ", ", p.Text(node),
        ", 1 FROM r ON CONFLICT (key_id, node) DO UPDATE SET "
        "n=usage_reservations.n+1) SELECT used, reserved, usage_limit FROM r");
    pg::PgResultPtr r;
    KSEF_RETURN_IF_ERROR(conn.Exec(sql, &p, "reserve a use", &r));
    taken.reset();
    if (PQntuples(r.get()) == 1) {
      taken = KeyUsage{pg::Int(r.get(), 0, 0), pg::Int(r.get(), 0, 1), pg::Int(r.get(), 0, 2)};
      return absl::OkStatus();
    }
    KSEF_ASSIGN_OR_RETURN(refused, ReadUsage(conn, key_id));
    return absl::OkStatus();
  }));
  if (!taken) return internal::ReserveRefused(key_id, refused ? &*refused : nullptr);
  return *taken;
}

absl::Status PostgresKeyRegistry::SettleUse(const std::string& key_id, const std::string& node,
                                            bool used) {
  return Write("settle a use", [&](pg::Connection& conn) -> absl::Status {
    pg::Params p;
    const std::string id = p.Text(key_id);
    pg::PgResultPtr r;
    KSEF_RETURN_IF_ERROR(
        conn.Exec("SELECT 1 FROM keys WHERE key_id=" + id + " FOR UPDATE", &p, "settle a use", &r));
    const std::string mine = absl::StrCat("key_id=", id, " AND node=", p.Text(node));
    const std::string sql =
        absl::StrCat("WITH d AS (UPDATE usage_reservations SET n=n-1 WHERE n>0 AND ", mine,
                     " RETURNING n) UPDATE keys SET used=used+", p.Int(used ? 1 : 0),
                     ", reserved=reserved-1 FROM d WHERE keys.key_id=", id, " RETURNING d.n");
    KSEF_RETURN_IF_ERROR(conn.Exec(sql, &p, "settle a use", &r));
    if (PQntuples(r.get()) != 1 || pg::Int(r.get(), 0, 0) > 0) return absl::OkStatus();
    return conn.Exec("DELETE FROM usage_reservations WHERE n=0 AND " + mine, &p, "settle a use");
  });
}

absl::StatusOr<int64_t> PostgresKeyRegistry::SettleAbandonedUses(const std::string& node) {
  int64_t settled = 0;
  KSEF_RETURN_IF_ERROR(Write("settle abandoned uses", [&](pg::Connection& conn) -> absl::Status {
    pg::Params p;
    const std::string n = p.Text(node);
    pg::PgResultPtr r;
    KSEF_RETURN_IF_ERROR(
        conn.Exec(absl::StrCat("SELECT key_id FROM keys WHERE key_id IN (SELECT key_id FROM "
                               "usage_reservations WHERE node=",
                               n, ") ORDER BY key_id FOR UPDATE"),
                  &p, "settle abandoned uses", &r));
    KSEF_RETURN_IF_ERROR(conn.Exec(
        absl::StrCat("WITH d AS (DELETE FROM usage_reservations WHERE node=", n,
                     " RETURNING key_id, n) UPDATE keys SET used=used+d.n, reserved=reserved-d.n "
                     "FROM d WHERE keys.key_id=d.key_id RETURNING d.n"),
        &p, "settle abandoned uses", &r));
    settled = 0;
    for (int i = 0; i < PQntuples(r.get()); ++i) settled += pg::Int(r.get(), i, 0);
    return absl::OkStatus();
  }));
  return settled;
}

absl::StatusOr<KeyUsage> PostgresKeyRegistry::Usage(const std::string& key_id, bool* counted) {
  std::optional<UsageRow> row;
  KSEF_RETURN_IF_ERROR(Run([&](pg::Connection& conn, bool*) -> absl::Status {
    KSEF_ASSIGN_OR_RETURN(row, ReadUsage(conn, key_id));
    return absl::OkStatus();
  }));
  if (!row) return internal::KeyNotFound(key_id);
  if (counted != nullptr) *counted = row->counted;
  return row->usage;
}

absl::Status PostgresKeyRegistry::InitUsage(const std::string& key_id, int64_t used) {
  // Idempotent (only a NULL count is set): a retry after a lost COMMIT is harmless.
  return Run([&](pg::Connection& conn, bool*) -> absl::Status {
    pg::Params p;
    pg::PgResultPtr r;
    KSEF_RETURN_IF_ERROR(
        conn.Exec(absl::StrCat("UPDATE keys SET used=", p.Int(used),
                               " WHERE key_id=", p.Text(key_id), " AND used IS NULL RETURNING 1"),
                  &p, "initialise usage", &r));
    if (PQntuples(r.get()) == 1) return absl::OkStatus();
    KSEF_ASSIGN_OR_RETURN(bool exists, Exists(conn, key_id));
    return exists ? absl::OkStatus() : internal::KeyNotFound(key_id);
  });
}

absl::Status PostgresKeyRegistry::ResetUsage(const std::string& key_id) {
  // Idempotent: a retry after a lost COMMIT finds the count NULL already.
  return Run([&](pg::Connection& conn, bool*) -> absl::Status {
    pg::Params p;
    pg::PgResultPtr r;
    KSEF_RETURN_IF_ERROR(conn.Exec(absl::StrCat("UPDATE keys SET used=NULL WHERE key_id=",
                                                 p.Text(key_id), " AND reserved=0 RETURNING 1"),
                                   &p, "reset usage", &r));
    if (PQntuples(r.get()) == 1) return absl::OkStatus();
    KSEF_ASSIGN_OR_RETURN(bool exists, Exists(conn, key_id));
    return exists ? internal::UsesInFlight(key_id) : internal::KeyNotFound(key_id);
  });
}

// --- named locks

absl::StatusOr<std::unique_ptr<RegistryLock>> PostgresKeyRegistry::Lock(absl::string_view name,
                                                                        absl::Duration timeout) {
  KSEF_RETURN_IF_ERROR(internal::CheckLockName(name));
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> conn, pool_->OpenDedicated());
  const pg::AdvisoryLockKey key = pg::NamedLockKey(name);
  KSEF_RETURN_IF_ERROR(pg::AdvisoryLock(*conn, key, timeout, absl::StrCat("lock \"", name, "\"")));
  return std::unique_ptr<RegistryLock>(new AdvisoryRegistryLock(std::move(conn), key));
}

absl::StatusOr<std::unique_ptr<RegistryLock>> PostgresKeyRegistry::TryLock(absl::string_view name) {
  KSEF_RETURN_IF_ERROR(internal::CheckLockName(name));
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> conn, pool_->OpenDedicated());
  const pg::AdvisoryLockKey key = pg::NamedLockKey(name);
  KSEF_ASSIGN_OR_RETURN(bool taken, pg::TryAdvisoryLock(*conn, key));
  if (!taken) return std::unique_ptr<RegistryLock>();
  return std::unique_ptr<RegistryLock>(new AdvisoryRegistryLock(std::move(conn), key));
}

}  // namespace ksef::service
