#include "service/sqlite_key_registry.h"

#include <sqlite3.h>

#include <variant>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "service/internal/key_registry_rows.h"
#include "service/internal/sqlite_registry_schema.h"

namespace ksef::service {
namespace {

using internal::UsageRow;

// Parameters of one statement, numbered ?1, ?2, ... as they are added
// (key_registry_rows.h writes the SQL over them).
class SqlParams {
 public:
  std::string Text(absl::string_view v) { return Add(Value{Kind::kText, 0, std::string(v)}); }
  std::string Int(int64_t v) { return Add(Value{Kind::kInt, v, ""}); }
  std::string Bytea(absl::string_view v) { return Add(Value{Kind::kBlob, 0, std::string(v)}); }
  std::string Null() { return Add(Value{Kind::kNull, 0, ""}); }

  void Bind(Statement& st) const {
    for (size_t i = 0; i < values_.size(); ++i) {
      const Value& v = values_[i];
      const int at = static_cast<int>(i) + 1;
      switch (v.kind) {
        case Kind::kText:
          st.BindText(at, v.bytes);
          break;
        case Kind::kInt:
          st.Bind(at, v.number);
          break;
        case Kind::kBlob:
          st.BindBlob(at, v.bytes);
          break;
        case Kind::kNull:
          st.BindNull(at);
          break;
      }
    }
  }

 private:
  enum class Kind { kText, kInt, kBlob, kNull };
  struct Value {
    Kind kind;
    int64_t number;
    std::string bytes;
  };
  std::string Add(Value v) {
    values_.push_back(std::move(v));
    return absl::StrCat("?", values_.size());
  }
  std::vector<Value> values_;
};

// A result row as key_registry_rows.h reads it.
struct Row {
  const Statement& st;
  int64_t Int(int col) const { return st.Int(col); }
  std::string Bytes(int col) const { return st.Blob(col); }
  bool IsNull(int col) const { return st.IsNull(col); }
};

// Prepares `sql` with `params` bound; check prepared() before stepping.
std::unique_ptr<Statement> Prepare(SqliteDb& db, const std::string& sql, const SqlParams& params) {
  auto st = std::make_unique<Statement>(db, sql.c_str());
  if (st->prepared().ok()) params.Bind(*st);
  return st;
}

// Runs a statement without results; *changes gets the rows it changed.
absl::Status Run(SqliteDb& db, const std::string& sql, const SqlParams& params, const char* what,
                 int* changes = nullptr) {
  auto st = Prepare(db, sql, params);
  KSEF_RETURN_IF_ERROR(st->prepared());
  const int rc = st->Step();
  KSEF_RETURN_IF_ERROR(st->Check(rc == SQLITE_ROW ? SQLITE_DONE : rc, what));
  if (changes != nullptr) *changes = sqlite3_changes(db.get());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteKeyRegistry>> SqliteKeyRegistry::Open(
    const std::string& path) {
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, "key registry"));
  KSEF_RETURN_IF_ERROR(internal::MigrateSqliteRegistry(*db, path));
  return std::unique_ptr<SqliteKeyRegistry>(new SqliteKeyRegistry(std::move(db), path));
}

std::string SqliteKeyRegistry::Describe() const { return "SQLite key registry " + path_; }

absl::Status SqliteKeyRegistry::Transaction(const std::function<absl::Status()>& body) {
  KSEF_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE;"));
  absl::Status s = body();
  if (s.ok()) s = db_->Exec("COMMIT;");
  if (!s.ok()) (void)db_->Exec("ROLLBACK;");
  return s;
}

absl::Status SqliteKeyRegistry::Insert(KeyRecord& record) {
  absl::MutexLock lock(&mu_);
  SqlParams p;
  const std::string sql = internal::InsertSql(record, p);
  absl::Status s = Run(*db_, sql, p, "insert");
  if (absl::IsAlreadyExists(s)) return internal::KeyTaken(record.key_id);
  KSEF_RETURN_IF_ERROR(s);
  record.version = 1;
  return absl::OkStatus();
}

absl::StatusOr<bool> SqliteKeyRegistry::Exists(const std::string& key_id) {
  Statement st(*db_, "SELECT 1 FROM keys WHERE key_id=?");
  KSEF_RETURN_IF_ERROR(st.prepared());
  st.BindText(1, key_id);
  const int rc = st.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return st.Check(rc, "get");
  return rc == SQLITE_ROW;
}

absl::Status SqliteKeyRegistry::Update(KeyRecord& record) {
  absl::MutexLock lock(&mu_);
  SqlParams p;
  const std::string sql = internal::UpdateSql(record, p);
  int changes = 0;
  absl::Status s = Run(*db_, sql, p, "update", &changes);
  if (absl::IsAlreadyExists(s)) return internal::KeyTaken(record.key_id);  // cka_id taken
  KSEF_RETURN_IF_ERROR(s);
  if (changes == 0) {
    KSEF_ASSIGN_OR_RETURN(bool exists, Exists(record.key_id));
    return internal::UpdateMissed(record.key_id, exists);
  }
  ++record.version;
  return absl::OkStatus();
}

absl::Status SqliteKeyRegistry::Delete(const std::string& key_id) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    SqlParams p;
    const std::string id = p.Text(key_id);
    KSEF_RETURN_IF_ERROR(
        Run(*db_, "DELETE FROM usage_reservations WHERE key_id=" + id, p, "delete"));
    return Run(*db_, "DELETE FROM keys WHERE key_id=" + id, p, "delete");
  });
}

absl::StatusOr<KeyRecord> SqliteKeyRegistry::GetWhere(const char* column, const std::string& value,
                                                      bool blob) {
  absl::MutexLock lock(&mu_);
  SqlParams p;
  const std::string sql = absl::StrCat("SELECT ", internal::kSelectColumns, " FROM keys WHERE ",
                                       column, "=", blob ? p.Bytea(value) : p.Text(value));
  auto st = Prepare(*db_, sql, p);
  KSEF_RETURN_IF_ERROR(st->prepared());
  const int rc = st->Step();
  if (rc == SQLITE_DONE) {
    return blob ? absl::NotFoundError("no key with this PKCS#11 id") : internal::KeyNotFound(value);
  }
  if (rc != SQLITE_ROW) return st->Check(rc, "get");
  return internal::ReadRecord(Row{*st});
}

absl::StatusOr<KeyRecord> SqliteKeyRegistry::Get(const std::string& key_id) {
  return GetWhere("key_id", key_id, /*blob=*/false);
}

absl::StatusOr<KeyRecord> SqliteKeyRegistry::GetByCkaId(const std::string& cka_id) {
  return GetWhere("cka_id", cka_id, /*blob=*/true);
}

absl::StatusOr<std::vector<KeyRecord>> SqliteKeyRegistry::List(const KeyFilter& filter,
                                                               const std::string& after_key_id,
                                                               int limit, int* total) {
  SqlParams p;
  const std::string cond = internal::FilterSql(filter, p);
  absl::MutexLock lock(&mu_);
  if (total != nullptr) {
    auto st = Prepare(*db_, absl::StrCat("SELECT count(*) FROM keys WHERE ", cond), p);
    KSEF_RETURN_IF_ERROR(st->prepared());
    const int rc = st->Step();
    if (rc != SQLITE_ROW) return st->Check(rc == SQLITE_DONE ? SQLITE_ERROR : rc, "count");
    *total = static_cast<int>(st->Int(0));
  }
  const std::string sql =
      absl::StrCat("SELECT ", internal::kSelectColumns, " FROM keys WHERE ", cond, " AND key_id > ",
                   p.Text(after_key_id), " ORDER BY key_id LIMIT ", p.Int(limit));
  auto st = Prepare(*db_, sql, p);
  KSEF_RETURN_IF_ERROR(st->prepared());
  std::vector<KeyRecord> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) out.push_back(internal::ReadRecord(Row{*st}));
  if (rc != SQLITE_DONE) return st->Check(rc, "list");
  return out;
}

absl::StatusOr<std::string> SqliteKeyRegistry::GetInternalKey(const std::string& role) {
  absl::MutexLock lock(&mu_);
  Statement st(*db_, "SELECT cka_id FROM internal_keys WHERE role=?");
  KSEF_RETURN_IF_ERROR(st.prepared());
  st.BindText(1, role);
  const int rc = st.Step();
  if (rc == SQLITE_DONE) return internal::InternalKeyNotFound(role);
  if (rc != SQLITE_ROW) return st.Check(rc, "get internal key");
  return st.Blob(0);
}

absl::Status SqliteKeyRegistry::RecordInternalKey(const std::string& role,
                                                  const std::string& cka_id) {
  absl::MutexLock lock(&mu_);
  SqlParams p;
  const std::string sql = absl::StrCat("INSERT INTO internal_keys (role, cka_id) VALUES (",
                                       p.Text(role), ", ", p.Bytea(cka_id), ")");
  absl::Status s = Run(*db_, sql, p, "record internal key");
  if (absl::IsAlreadyExists(s)) return internal::InternalKeyTaken(role);
  return s;
}

absl::StatusOr<std::optional<UsageRow>> SqliteKeyRegistry::ReadUsage(const std::string& key_id) {
  Statement st(*db_, "SELECT used, reserved, usage_limit FROM keys WHERE key_id=?");
  KSEF_RETURN_IF_ERROR(st.prepared());
  st.BindText(1, key_id);
  const int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<UsageRow>();
  if (rc != SQLITE_ROW) return st.Check(rc, "read usage");
  UsageRow row;
  row.counted = !st.IsNull(0);
  row.usage = KeyUsage{st.Int(0), st.Int(1), st.Int(2)};
  return row;
}

absl::StatusOr<KeyUsage> SqliteKeyRegistry::ReserveUse(const std::string& key_id,
                                                       const std::string& node) {
  absl::MutexLock lock(&mu_);
  std::optional<KeyUsage> taken;
  std::optional<UsageRow> refused;
  KSEF_RETURN_IF_ERROR(Transaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    SqlParams p;
    const std::string id = p.Text(key_id);
    auto st = Prepare(*db_,
                      absl::StrCat("UPDATE keys SET reserved=reserved+1 WHERE key_id=", id,
                                   " AND used IS NOT NULL AND used+reserved<usage_limit "
                                   "RETURNING used, reserved, usage_limit"),
                      p);
    KSEF_RETURN_IF_ERROR(st->prepared());
    int rc = st->Step();
    if (rc == SQLITE_ROW) {
      taken = KeyUsage{st->Int(0), st->Int(1), st->Int(2)};
      rc = st->Step();
    }
    KSEF_RETURN_IF_ERROR(st->Check(rc, "reserve a use"));
    if (!taken) {
      KSEF_ASSIGN_OR_RETURN(refused, ReadUsage(key_id));
      return absl::OkStatus();
    }
    const std::string sql =
        absl::StrCat("INSERT INTO usage_reservations (key_id, node, n) VALUES (", id, ", ",
                     p.Text(node), ", 1) ON CONFLICT (key_id, node) DO UPDATE SET n=n+1");
    return Run(*db_, sql, p, "reserve a use");
  }));
  if (!taken) return internal::ReserveRefused(key_id, refused ? &*refused : nullptr);
  return *taken;
}

absl::Status SqliteKeyRegistry::SettleUse(const std::string& key_id, const std::string& node,
                                          bool used) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    SqlParams p;
    const std::string mine = absl::StrCat("key_id=", p.Text(key_id), " AND node=", p.Text(node));
    int changes = 0;
    KSEF_RETURN_IF_ERROR(Run(*db_, "UPDATE usage_reservations SET n=n-1 WHERE n>0 AND " + mine, p,
                             "settle a use", &changes));
    if (changes == 0) return absl::OkStatus();  // nothing reserved by this node
    KSEF_RETURN_IF_ERROR(
        Run(*db_, "DELETE FROM usage_reservations WHERE n=0 AND " + mine, p, "settle a use"));
    SqlParams q;
    const std::string sql = absl::StrCat("UPDATE keys SET used=used+", q.Int(used ? 1 : 0),
                                         ", reserved=reserved-1 WHERE key_id=", q.Text(key_id));
    return Run(*db_, sql, q, "settle a use");
  });
}

absl::StatusOr<int64_t> SqliteKeyRegistry::SettleAbandonedUses(const std::string& node) {
  absl::MutexLock lock(&mu_);
  int64_t settled = 0;
  KSEF_RETURN_IF_ERROR(Transaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    SqlParams p;
    const std::string n = p.Text(node);
    {
      auto st =
          Prepare(*db_,
                  absl::StrCat("SELECT COALESCE(SUM(n), 0) FROM usage_reservations WHERE node=", n,
                               " AND key_id IN (SELECT key_id FROM keys)"),
                  p);
      KSEF_RETURN_IF_ERROR(st->prepared());
      const int rc = st->Step();
      if (rc != SQLITE_ROW) return st->Check(rc == SQLITE_DONE ? SQLITE_ERROR : rc, "settle");
      settled = st->Int(0);
    }
    const std::string left =
        "(SELECT n FROM usage_reservations r WHERE r.key_id=keys.key_id AND r.node=" + n + ")";
    KSEF_RETURN_IF_ERROR(
        Run(*db_,
            absl::StrCat("UPDATE keys SET used=used+", left, ", reserved=reserved-", left,
                         " WHERE key_id IN (SELECT key_id FROM "
                         "usage_reservations WHERE node=",
                         n, ")"),
            p, "settle abandoned uses"));
    return Run(*db_, "DELETE FROM usage_reservations WHERE node=" + n, p, "settle abandoned uses");
  }));
  return settled;
}

absl::StatusOr<KeyUsage> SqliteKeyRegistry::Usage(const std::string& key_id, bool* counted) {
  absl::MutexLock lock(&mu_);
  KSEF_ASSIGN_OR_RETURN(std::optional<UsageRow> row, ReadUsage(key_id));
  if (!row) return internal::KeyNotFound(key_id);
  if (counted != nullptr) *counted = row->counted;
  return row->usage;
}

absl::Status SqliteKeyRegistry::InitUsage(const std::string& key_id, int64_t used) {
  absl::MutexLock lock(&mu_);
  SqlParams p;
  const std::string sql = absl::StrCat("UPDATE keys SET used=", p.Int(used),
                                       " WHERE key_id=", p.Text(key_id), " AND used IS NULL");
  int changes = 0;
  KSEF_RETURN_IF_ERROR(Run(*db_, sql, p, "initialise usage", &changes));
  if (changes > 0) return absl::OkStatus();
  KSEF_ASSIGN_OR_RETURN(bool exists, Exists(key_id));
  return exists ? absl::OkStatus() : internal::KeyNotFound(key_id);
}

absl::Status SqliteKeyRegistry::ResetUsage(const std::string& key_id) {
  absl::MutexLock lock(&mu_);
  SqlParams p;
  const std::string sql =
      absl::StrCat("UPDATE keys SET used=NULL WHERE key_id=", p.Text(key_id), " AND reserved=0");
  int changes = 0;
  KSEF_RETURN_IF_ERROR(Run(*db_, sql, p, "reset usage", &changes));
  if (changes > 0) return absl::OkStatus();
  KSEF_ASSIGN_OR_RETURN(bool exists, Exists(key_id));
  return exists ? internal::UsesInFlight(key_id) : internal::KeyNotFound(key_id);
}

}  // namespace ksef::service
