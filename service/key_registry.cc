#include "service/key_registry.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/sqlite.h"
#include "common/status_macros.h"

namespace ksef::service {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS keys (
  key_id TEXT PRIMARY KEY,
  cka_id BLOB NOT NULL UNIQUE,
  subject_type INTEGER NOT NULL,
  subject_value TEXT NOT NULL,
  purpose INTEGER NOT NULL,
  algorithm INTEGER NOT NULL,
  state INTEGER NOT NULL,
  create_us INTEGER NOT NULL,
  update_us INTEGER NOT NULL,
  destroy_us INTEGER,
  attestation INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  pkcs11_uri TEXT NOT NULL,
  certificate BLOB NOT NULL,
  usage_limit INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS keys_subject ON keys (subject_type, subject_value);
CREATE TABLE IF NOT EXISTS internal_keys (
  role TEXT PRIMARY KEY,
  cka_id BLOB NOT NULL UNIQUE
);
)sql";

constexpr char kColumns[] =
    "key_id, cka_id, subject_type, subject_value, purpose, algorithm, state, create_us, "
    "update_us, destroy_us, attestation, public_key, pkcs11_uri, certificate, usage_limit";

int PackAttestation(const pkcs11::KeyAttestation& a) {
  return (a.local ? 1 : 0) | (a.sensitive ? 2 : 0) | (a.extractable ? 4 : 0) |
         (a.always_sensitive ? 8 : 0) | (a.never_extractable ? 16 : 0);
}

pkcs11::KeyAttestation UnpackAttestation(int64_t bits) {
  pkcs11::KeyAttestation a;
  a.local = bits & 1;
  a.sensitive = bits & 2;
  a.extractable = bits & 4;
  a.always_sensitive = bits & 8;
  a.never_extractable = bits & 16;
  return a;
}

void BindRecord(Statement& st, const KeyRecord& r) {
  st.BindText(1, r.key_id);
  st.BindBlob(2, r.cka_id);
  st.Bind(3, static_cast<int>(r.subject_type));
  st.BindText(4, r.subject_value);
  st.Bind(5, static_cast<int>(r.purpose));
  st.Bind(6, r.algorithm == crypto::KeyAlgorithm::kEcP256 ? 1 : 2);
  st.Bind(7, static_cast<int>(r.state));
  st.Bind(8, absl::ToUnixMicros(r.create_time));
  st.Bind(9, absl::ToUnixMicros(r.update_time));
  if (r.destroy_time) {
    st.Bind(10, absl::ToUnixMicros(*r.destroy_time));
  } else {
    st.BindNull(10);
  }
  st.Bind(11, PackAttestation(r.attestation));
  st.BindBlob(12, r.public_key_der);
  st.BindText(13, r.pkcs11_uri);
  st.BindBlob(14, r.certificate_der);
  st.Bind(15, r.usage_limit);
}

KeyRecord ReadRecord(const Statement& st) {
  KeyRecord r;
  r.key_id = st.Text(0);
  r.cka_id = st.Blob(1);
  r.subject_type = static_cast<SubjectType>(st.Int(2));
  r.subject_value = st.Text(3);
  r.purpose = static_cast<KeyPurpose>(st.Int(4));
  r.algorithm = st.Int(5) == 1 ? crypto::KeyAlgorithm::kEcP256 : crypto::KeyAlgorithm::kRsa2048;
  r.state = static_cast<KeyState>(st.Int(6));
  r.create_time = absl::FromUnixMicros(st.Int(7));
  r.update_time = absl::FromUnixMicros(st.Int(8));
  if (!st.IsNull(9)) r.destroy_time = absl::FromUnixMicros(st.Int(9));
  r.attestation = UnpackAttestation(st.Int(10));
  r.public_key_der = st.Blob(11);
  r.pkcs11_uri = st.Text(12);
  r.certificate_der = st.Blob(13);
  r.usage_limit = st.Int(14);
  return r;
}

}  // namespace

const char* KeyPurposeName(KeyPurpose purpose) {
  return purpose == KeyPurpose::kAuthentication ? "AUTHENTICATION" : "OFFLINE";
}

absl::StatusOr<std::unique_ptr<KeyRegistry>> KeyRegistry::Open(const std::string& path) {
  KSEF_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, "key registry"));
  KSEF_RETURN_IF_ERROR(db->Exec(kSchema));
  // Registries from before usage limits: add the column (0 = no limit).
  {
    Statement st(*db, "SELECT 1 FROM pragma_table_info('keys') WHERE name='usage_limit'");
    KSEF_RETURN_IF_ERROR(st.prepared());
    const int rc = st.Step();
    KSEF_RETURN_IF_ERROR(st.Check(rc, "schema check"));
    if (rc == SQLITE_DONE) {
      KSEF_RETURN_IF_ERROR(
          db->Exec("ALTER TABLE keys ADD COLUMN usage_limit INTEGER NOT NULL DEFAULT 0"));
    }
  }
  return std::unique_ptr<KeyRegistry>(new KeyRegistry(std::move(db)));
}

KeyRegistry::~KeyRegistry() = default;

absl::Status KeyRegistry::Insert(const KeyRecord& record) {
  absl::MutexLock lock(&mu_);
  std::string sql = absl::StrCat("INSERT INTO keys (", kColumns,
                                 ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  Statement st(*db_, sql.c_str());
  if (auto s = st.prepared(); !s.ok()) return s;
  BindRecord(st, record);
  int rc = st.Step();
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(absl::StrCat("key ", record.name(), " already exists"));
  }
  return st.Check(rc, "insert");
}

absl::Status KeyRegistry::Update(const KeyRecord& record) {
  absl::MutexLock lock(&mu_);
  Statement st(*db_,
               "UPDATE keys SET key_id=?1, cka_id=?2, subject_type=?3, subject_value=?4, "
               "purpose=?5, algorithm=?6, state=?7, create_us=?8, update_us=?9, destroy_us=?10, "
               "attestation=?11, public_key=?12, pkcs11_uri=?13, certificate=?14, usage_limit=?15 "
               "WHERE key_id=?1");
  if (auto s = st.prepared(); !s.ok()) return s;
  BindRecord(st, record);
  absl::Status s = st.Check(st.Step(), "update");
  if (!s.ok()) return s;
  if (sqlite3_changes(db_->get()) == 0) {
    return absl::NotFoundError(absl::StrCat("key ", record.name(), " not found"));
  }
  return absl::OkStatus();
}

absl::Status KeyRegistry::Delete(const std::string& key_id) {
  absl::MutexLock lock(&mu_);
  Statement st(*db_, "DELETE FROM keys WHERE key_id=?");
  if (auto s = st.prepared(); !s.ok()) return s;
  st.BindText(1, key_id);
  return st.Check(st.Step(), "delete");
}

absl::StatusOr<KeyRecord> KeyRegistry::Get(const std::string& key_id) {
  absl::MutexLock lock(&mu_);
  std::string sql = absl::StrCat("SELECT ", kColumns, " FROM keys WHERE key_id=?");
  Statement st(*db_, sql.c_str());
  if (auto s = st.prepared(); !s.ok()) return s;
  st.BindText(1, key_id);
  int rc = st.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("key keys/", key_id, " not found"));
  if (rc != SQLITE_ROW) return st.Check(rc, "get");
  return ReadRecord(st);
}

absl::StatusOr<KeyRecord> KeyRegistry::GetByCkaId(const std::string& cka_id) {
  absl::MutexLock lock(&mu_);
  std::string sql = absl::StrCat("SELECT ", kColumns, " FROM keys WHERE cka_id=?");
  Statement st(*db_, sql.c_str());
  if (auto s = st.prepared(); !s.ok()) return s;
  st.BindBlob(1, cka_id);
  int rc = st.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError("no key with this PKCS#11 id");
  if (rc != SQLITE_ROW) return st.Check(rc, "get");
  return ReadRecord(st);
}

absl::StatusOr<std::string> KeyRegistry::GetInternalKey(const std::string& role) {
  absl::MutexLock lock(&mu_);
  Statement st(*db_, "SELECT cka_id FROM internal_keys WHERE role=?");
  if (auto s = st.prepared(); !s.ok()) return s;
  st.BindText(1, role);
  int rc = st.Step();
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(absl::StrCat("no internal key recorded for role '", role, "'"));
  }
  if (rc != SQLITE_ROW) return st.Check(rc, "get internal key");
  return st.Blob(0);
}

absl::Status KeyRegistry::RecordInternalKey(const std::string& role, const std::string& cka_id) {
  absl::MutexLock lock(&mu_);
  Statement st(*db_, "INSERT INTO internal_keys (role, cka_id) VALUES (?, ?)");
  if (auto s = st.prepared(); !s.ok()) return s;
  st.BindText(1, role);
  st.BindBlob(2, cka_id);
  int rc = st.Step();
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(absl::StrCat("an internal key is already recorded for role '",
                                                 role, "' (or this CKA_ID is taken)"));
  }
  return st.Check(rc, "record internal key");
}

absl::StatusOr<std::vector<KeyRecord>> KeyRegistry::List(const KeyFilter& filter,
                                                         const std::string& after_key_id,
                                                         int limit, int* total) {
  std::vector<std::string> where;
  if (filter.subject_type) where.push_back("subject_type=?1");
  if (filter.subject_value) where.push_back("subject_value=?2");
  if (filter.purpose) where.push_back("purpose=?3");
  if (filter.state) where.push_back("state=?4");
  if (!filter.include_destroyed) where.push_back("state<>6");
  std::string cond = where.empty() ? "1" : absl::StrJoin(where, " AND ");
  auto bind = [&](Statement& st) {
    if (filter.subject_type) st.Bind(1, static_cast<int>(*filter.subject_type));
    if (filter.subject_value) st.BindText(2, *filter.subject_value);
    if (filter.purpose) st.Bind(3, static_cast<int>(*filter.purpose));
    if (filter.state) st.Bind(4, static_cast<int>(*filter.state));
    st.BindText(5, after_key_id);
    st.Bind(6, limit);
  };
  absl::MutexLock lock(&mu_);
  if (total != nullptr) {
    std::string sql = absl::StrCat("SELECT count(*) FROM keys WHERE ", cond, " AND ?5=?5 AND ?6=?6");
    Statement st(*db_, sql.c_str());
    if (auto s = st.prepared(); !s.ok()) return s;
    bind(st);
    if (st.Step() != SQLITE_ROW) return st.Check(SQLITE_ERROR, "count");
    *total = static_cast<int>(st.Int(0));
  }
  std::string sql = absl::StrCat("SELECT ", kColumns, " FROM keys WHERE ", cond,
                                 " AND key_id > ?5 ORDER BY key_id LIMIT ?6");
  Statement st(*db_, sql.c_str());
  if (auto s = st.prepared(); !s.ok()) return s;
  bind(st);
  std::vector<KeyRecord> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadRecord(st));
  if (rc != SQLITE_DONE) return st.Check(rc, "list");
  return out;
}

}  // namespace ksef::service
