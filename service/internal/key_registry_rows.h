// What both KeyRegistry stores (sqlite_key_registry.cc,
// postgres_key_registry.cc) share, so that each rule has one home: the
// columns of the keys table and how a KeyRecord maps onto them, the WHERE
// clause of a KeyFilter, and the statuses and messages of the contract in
// key_registry.h. The SQL is written once over a parameter builder P (pg::
// Params, or the SQLite store's): P::Text / Int / Bytea / Null add a value
// and return its placeholder. Rows are read through R: R::Int(col),
// R::Bytes(col), R::IsNull(col).
#ifndef KSEF_SERVICE_INTERNAL_KEY_REGISTRY_ROWS_H_
#define KSEF_SERVICE_INTERNAL_KEY_REGISTRY_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "service/key_model.h"
#include "service/key_registry.h"

namespace ksef::service::internal {

// The columns RecordValues fills, in order; the row's version comes after
// them in kSelectColumns (what ReadRecord reads).
inline constexpr char kRecordColumns[] =
    "key_id, cka_id, subject_type, subject_value, purpose, algorithm, state, create_us, "
    "update_us, destroy_us, attestation, public_key, pkcs11_uri, certificate, usage_limit";
inline constexpr int kRecordColumnCount = 15;
inline constexpr char kSelectColumns[] =
    "key_id, cka_id, subject_type, subject_value, purpose, algorithm, state, create_us, "
    "update_us, destroy_us, attestation, public_key, pkcs11_uri, certificate, usage_limit, "
    "version";

int64_t PackAttestation(const pkcs11::KeyAttestation& a);
pkcs11::KeyAttestation UnpackAttestation(int64_t bits);
int64_t AlgorithmCode(crypto::KeyAlgorithm algorithm);
crypto::KeyAlgorithm AlgorithmOf(int64_t code);

// The placeholders of the record's values for kRecordColumns.
template <typename P>
std::vector<std::string> RecordValues(const KeyRecord& r, P& p) {
  return {p.Text(r.key_id),
          p.Bytea(r.cka_id),
          p.Int(static_cast<int64_t>(r.subject_type)),
          p.Text(r.subject_value),
          p.Int(static_cast<int64_t>(r.purpose)),
          p.Int(AlgorithmCode(r.algorithm)),
          p.Int(static_cast<int64_t>(r.state)),
          p.Int(absl::ToUnixMicros(r.create_time)),
          p.Int(absl::ToUnixMicros(r.update_time)),
          r.destroy_time ? p.Int(absl::ToUnixMicros(*r.destroy_time)) : p.Null(),
          p.Int(PackAttestation(r.attestation)),
          p.Bytea(r.public_key_der),
          p.Text(r.pkcs11_uri),
          p.Bytea(r.certificate_der),
          p.Int(r.usage_limit)};
}

// "INSERT INTO keys (...) VALUES (...)": a new row at version 1, its usage
// counted from 0.
template <typename P>
std::string InsertSql(const KeyRecord& r, P& p) {
  return absl::StrCat("INSERT INTO keys (", kRecordColumns, ", version, used, reserved) VALUES (",
                      absl::StrJoin(RecordValues(r, p), ", "), ", 1, 0, 0)");
}

// The compare-and-set of KeyRegistry::Update: every column but key_id and
// the usage counts, version + 1, only at the version the record was read
// with. Changes one row, or none (UpdateMissed tells why).
template <typename P>
std::string UpdateSql(const KeyRecord& r, P& p) {
  const std::vector<std::string> values = RecordValues(r, p);
  const std::vector<std::string> columns = absl::StrSplit(kRecordColumns, ", ");
  std::vector<std::string> sets;
  for (size_t i = 1; i < values.size(); ++i)
    sets.push_back(absl::StrCat(columns[i], "=", values[i]));
  return absl::StrCat("UPDATE keys SET ", absl::StrJoin(sets, ", "),
                      ", version=version+1 WHERE key_id=", values[0],
                      " AND version=", p.Int(r.version));
}

template <typename R>
KeyRecord ReadRecord(const R& row) {
  KeyRecord r;
  r.key_id = row.Bytes(0);
  r.cka_id = row.Bytes(1);
  r.subject_type = static_cast<SubjectType>(row.Int(2));
  r.subject_value = row.Bytes(3);
  r.purpose = static_cast<KeyPurpose>(row.Int(4));
  r.algorithm = AlgorithmOf(row.Int(5));
  r.state = static_cast<KeyState>(row.Int(6));
  r.create_time = absl::FromUnixMicros(row.Int(7));
  r.update_time = absl::FromUnixMicros(row.Int(8));
  if (!row.IsNull(9)) r.destroy_time = absl::FromUnixMicros(row.Int(9));
  r.attestation = UnpackAttestation(row.Int(10));
  r.public_key_der = row.Bytes(11);
  r.pkcs11_uri = row.Bytes(12);
  r.certificate_der = row.Bytes(13);
  r.usage_limit = row.Int(14);
  r.version = row.Int(15);
  return r;
}

// The stored conditions of `filter` joined by AND ("TRUE" if none);
// certificate_expires_before is not stored (KeyManager resolves it).
template <typename P>
std::string FilterSql(const KeyFilter& filter, P& p) {
  std::vector<std::string> where;
  if (filter.subject_type) {
    where.push_back(
        absl::StrCat("subject_type=", p.Int(static_cast<int64_t>(*filter.subject_type))));
  }
  if (filter.subject_value)
    where.push_back(absl::StrCat("subject_value=", p.Text(*filter.subject_value)));
  if (filter.purpose) {
    where.push_back(absl::StrCat("purpose=", p.Int(static_cast<int64_t>(*filter.purpose))));
  }
  if (filter.state)
    where.push_back(absl::StrCat("state=", p.Int(static_cast<int64_t>(*filter.state))));
  if (!filter.include_destroyed) {
    where.push_back(absl::StrCat("state<>", static_cast<int>(KeyState::kDestroyed)));
  }
  return where.empty() ? "TRUE" : absl::StrJoin(where, " AND ");
}

// A key's usage columns as read (used is NULL while not counted).
struct UsageRow {
  bool counted = false;
  KeyUsage usage;
};

// The statuses of the contract (key_registry.h), one wording for both stores.
absl::Status KeyNotFound(const std::string& key_id);
absl::Status KeyTaken(const std::string& key_id);
// ResetUsage found uses of the key in flight (FAILED_PRECONDITION).
absl::Status UsesInFlight(const std::string& key_id);
absl::Status InternalKeyTaken(const std::string& role);
absl::Status InternalKeyNotFound(const std::string& role);
// Update changed no row: NOT_FOUND if `exists` is false, else ABORTED.
absl::Status UpdateMissed(const std::string& key_id, bool exists);
// ReserveUse took no use: why, from the key's usage (nullptr: no such key).
absl::Status ReserveRefused(const std::string& key_id, const UsageRow* row);
// A lock name: letters, digits, '-', '_', '.'; INVALID_ARGUMENT otherwise.
absl::Status CheckLockName(absl::string_view name);

}  // namespace ksef::service::internal

#endif  // KSEF_SERVICE_INTERNAL_KEY_REGISTRY_ROWS_H_
