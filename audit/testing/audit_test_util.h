// Test helpers shared by the audit tests: a software audit key, a sample
// event, and the stores under test (SQLite in a temp file, PostgreSQL in a
// fresh database on the KSEF_TEST_PG server) behind one harness, so every
// store runs the same suite. Test-only.
#ifndef KSEF_AUDIT_TESTING_AUDIT_TEST_UTIL_H_
#define KSEF_AUDIT_TESTING_AUDIT_TEST_UTIL_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "audit/audit_log.h"
#include "audit/postgres_audit_store.h"
#include "audit/sqlite_audit_store.h"
#include "common/ecdsa.h"
#include "common/openssl_ptr.h"
#include "common/sqlite.h"
#include "common/status_macros.h"
#include "tests/support/postgres_test_db.h"
#include "tests/support/softhsm_token.h"

namespace ksef::audit {

// A software stand-in for the HSM audit key (the token path is tested in
// the service tests).
class TestAuditKey {
 public:
  TestAuditKey() : key_(EVP_EC_gen("P-256")) {
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(key_.get(), &der);
    spki_.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  CheckpointSigner signer() {
    return CheckpointSigner{spki_,
                            [this](const std::string& digest) -> absl::StatusOr<std::string> {
                              EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
                              EVP_PKEY_sign_init(ctx.get());
                              size_t len = 0;
                              auto* d = reinterpret_cast<const unsigned char*>(digest.data());
                              EVP_PKEY_sign(ctx.get(), nullptr, &len, d, digest.size());
                              std::string der(len, '\0');
                              EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()),
                                            &len, d, digest.size());
                              der.resize(len);
                              return EcdsaDerToRaw(der);
                            }};
  }
  const std::string& spki() const { return spki_; }

 private:
  EvpPkeyPtr key_;
  std::string spki_;
};

inline AuditEvent TestEvent(const std::string& op, const std::string& key, int i) {
  AuditEvent e;
  e.caller.subject = absl::StrCat("CN=caller-", i % 3);
  e.caller.name = absl::StrCat("svc-", i % 3);
  e.operation = op;
  e.key_name = key;
  e.subject = "nip:5265877635";
  e.signed_sha256 = std::string(64, 'A');
  e.outcome = i % 5 == 0 ? Outcome::kFailure : Outcome::kSuccess;
  e.status_code = i % 5 == 0 ? 9 : 0;
  return e;
}

// One empty store for one test, and ways back into it.
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  // Another handle (connection) on the same store.
  virtual absl::StatusOr<std::unique_ptr<AuditStore>> Open() = 0;
  // A handle for the verifier (SQLite: read-only, as the offline CLI opens it).
  virtual absl::StatusOr<std::unique_ptr<AuditStore>> OpenForVerify() = 0;
  // Edits the store behind the log's back, as an attacker with database access would.
  virtual absl::Status Sql(const std::string& sql) = 0;
  // SQL expression for 32 zero bytes.
  virtual std::string ZeroHashSql() const = 0;
};

class SqliteHarness final : public StoreHarness {
 public:
  SqliteHarness() : dir_(ksef::testing::MakeTempDir("ksef-audit")), path_(dir_ + "/audit.db") {}
  ~SqliteHarness() override { ksef::testing::RunCommand("rm -rf " + dir_); }
  absl::StatusOr<std::unique_ptr<AuditStore>> Open() override {
    KSEF_ASSIGN_OR_RETURN(auto store, SqliteAuditStore::Open(path_));
    return std::unique_ptr<AuditStore>(std::move(store));
  }
  absl::StatusOr<std::unique_ptr<AuditStore>> OpenForVerify() override {
    KSEF_ASSIGN_OR_RETURN(auto store, SqliteAuditStore::Open(path_, /*read_only=*/true));
    return std::unique_ptr<AuditStore>(std::move(store));
  }
  absl::Status Sql(const std::string& sql) override {
    KSEF_ASSIGN_OR_RETURN(auto db, SqliteDb::Open(path_, "test"));
    return db->Exec(sql.c_str());
  }
  std::string ZeroHashSql() const override { return "zeroblob(32)"; }

 private:
  std::string dir_, path_;
};

class PostgresHarness final : public StoreHarness {
 public:
  static absl::StatusOr<std::unique_ptr<StoreHarness>> Create() {
    KSEF_ASSIGN_OR_RETURN(auto db, ksef::testing::TestPostgresDb::Create("ksef_audit_test"));
    return std::unique_ptr<StoreHarness>(new PostgresHarness(std::move(db)));
  }
  absl::StatusOr<std::unique_ptr<AuditStore>> Open() override {
    KSEF_ASSIGN_OR_RETURN(auto store, PostgresAuditStore::Open(db_->conninfo()));
    return std::unique_ptr<AuditStore>(std::move(store));
  }
  absl::StatusOr<std::unique_ptr<AuditStore>> OpenForVerify() override { return Open(); }
  absl::Status Sql(const std::string& sql) override { return db_->Exec(sql); }
  std::string ZeroHashSql() const override { return "decode(repeat('00', 32), 'hex')"; }
  const ksef::testing::TestPostgresDb& db() const { return *db_; }

 private:
  explicit PostgresHarness(std::unique_ptr<ksef::testing::TestPostgresDb> db)
      : db_(std::move(db)) {}
  std::unique_ptr<ksef::testing::TestPostgresDb> db_;
};

}  // namespace ksef::audit

#endif  // KSEF_AUDIT_TESTING_AUDIT_TEST_UTIL_H_
