// The audit key is found by the CKA_ID recorded in the key registry, on a
// real SoftHSM2 token and a real SQLite registry.
#include "service/audit_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "pkcs11/hsm.h"
#include "common/sqlite.h"
#include "service/key_registry_factory.h"
#include "tests/support/shared_hsm_test.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/test_hsm.h"

namespace ksef::service {
namespace {

using ::testing::HasSubstr;

class AuditKeyTest : public ksef::testing::SharedHsmTest {
 protected:
  static void SetUpTestSuite() {
    OpenSharedHsm("audit-key-test");
  }
  static void TearDownTestSuite() {
    CloseSharedHsm();
  }

  // Each test starts with an empty token and a new registry.
  void SetUp() override {
    auto keys = store().List();
    ASSERT_TRUE(keys.ok()) << keys.status();
    for (const pkcs11::TokenKey& k : *keys) ASSERT_TRUE(store().Destroy(k.id).ok());
    dir_ = ksef::testing::MakeTempDir("ksef-audit-key");
    OpenRegistry();
  }
  void TearDown() override {
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }
  void OpenRegistry() {
    registry_.reset();
    auto r = OpenKeyRegistry({.kind = "sqlite", .sqlite_path = dir_ + "/keys.db"});
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = std::move(*r);
  }
  static pkcs11::KeyStore& store() { return hsm_->keys(); }
  // The start-up pass over the token, as the server takes it.
  static pkcs11::TokenInventory Inventory() {
    auto inventory = store().Inventory();
    EXPECT_TRUE(inventory.ok()) << inventory.status();
    return inventory.value_or(pkcs11::TokenInventory{});
  }

  pkcs11::TokenKey Labelled(crypto::KeyAlgorithm algorithm = crypto::KeyAlgorithm::kEcP256) {
    auto k = store().Generate(algorithm, kAuditKeyLabel);
    EXPECT_TRUE(k.ok()) << k.status();
    return k.value_or(pkcs11::TokenKey{});
  }

  // A caller's key in the registry that carries the audit key's label (as
  // CreateKey allowed before the prefix was reserved).
  pkcs11::TokenKey CallerKeyWithAuditLabel() {
    KeyRecord r;
    r.key_id = kAuditKeyLabel;
    r.cka_id = pkcs11::KeyStore::NewId();
    r.subject_value = "5265877635";
    r.state = KeyState::kPendingCertificate;
    EXPECT_TRUE(registry_->Insert(r).ok());
    auto k = store().Generate(crypto::KeyAlgorithm::kEcP256, kAuditKeyLabel, r.cka_id);
    EXPECT_TRUE(k.ok()) << k.status();
    return k.value_or(pkcs11::TokenKey{});
  }

  std::string dir_;
  std::unique_ptr<KeyRegistry> registry_;
};

TEST_F(AuditKeyTest, FirstStartGeneratesAndRecordsTheKey) {
  auto key = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->label, kAuditKeyLabel);
  EXPECT_EQ(key->algorithm, crypto::KeyAlgorithm::kEcP256);
  EXPECT_EQ(*registry_->GetInternalKey(kAuditKeyRole), key->id);
  // The audit key is no registry key.
  EXPECT_EQ(registry_->GetByCkaId(key->id).status().code(), absl::StatusCode::kNotFound);

  OpenRegistry();  // a restart
  auto again = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id, key->id);
  EXPECT_EQ(again->public_key_der, key->public_key_der);
}

TEST_F(AuditKeyTest, RecordedKeyWinsOverLabelledImpostors) {
  auto key = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(key.ok()) << key.status();
  // A foreign key with the label (pkcs11-tool) and a caller's registry key with it.
  pkcs11::TokenKey foreign = Labelled();
  pkcs11::TokenKey callers = CallerKeyWithAuditLabel();

  OpenRegistry();
  auto again = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id, key->id);
  EXPECT_NE(again->id, foreign.id);
  EXPECT_NE(again->id, callers.id);
}

TEST_F(AuditKeyTest, RecordedKeyIsTakenFromTheInventoryByCkaIdBesideDecoysWithItsLabel) {
  auto key = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(key.ok()) << key.status();
  // Decoys with the audit key's label: several, so that one of them comes
  // before the real key in the token's object order whatever that order is.
  std::vector<pkcs11::TokenKey> decoys;
  for (int i = 0; i < 4; ++i) decoys.push_back(Labelled());

  OpenRegistry();
  pkcs11::TokenInventory inventory = Inventory();
  for (const pkcs11::TokenKey& d : decoys) ASSERT_NE(inventory.FindKey(d.id), nullptr);
  auto again = OpenAuditKey(store(), *registry_, inventory);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id, key->id);
  EXPECT_EQ(again->public_key_der, key->public_key_der);
  EXPECT_EQ(*registry_->GetInternalKey(kAuditKeyRole), key->id);
}

TEST_F(AuditKeyTest, RecordedKeyMadeAfterTheInventoryIsAskedOfTheToken) {
  // Another replica made and recorded the key after this one took its inventory.
  pkcs11::TokenInventory before = Inventory();
  auto key = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_EQ(before.FindKey(key->id), nullptr);

  OpenRegistry();
  auto again = OpenAuditKey(store(), *registry_, before);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id, key->id);
}

TEST_F(AuditKeyTest, MigrationAdoptsTheOneUnownedLabelledKey) {
  // A registry from before internal_keys: the audit key exists only by label,
  // and a caller's key took the same label.
  pkcs11::TokenKey old_audit_key = Labelled();
  pkcs11::TokenKey callers = CallerKeyWithAuditLabel();
  ASSERT_EQ(registry_->GetInternalKey(kAuditKeyRole).status().code(),
            absl::StatusCode::kNotFound);

  auto key = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->id, old_audit_key.id);
  EXPECT_EQ(key->public_key_der, old_audit_key.public_key_der);
  EXPECT_EQ(*registry_->GetInternalKey(kAuditKeyRole), old_audit_key.id);
  EXPECT_NE(key->id, callers.id);
}

TEST_F(AuditKeyTest, MigrationNeverAdoptsARegistryKeyOrAnotherAlgorithm) {
  pkcs11::TokenKey callers = CallerKeyWithAuditLabel();
  pkcs11::TokenKey rsa = Labelled(crypto::KeyAlgorithm::kRsa2048);
  auto key = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_NE(key->id, callers.id);
  EXPECT_NE(key->id, rsa.id);
  EXPECT_EQ(key->algorithm, crypto::KeyAlgorithm::kEcP256);
  EXPECT_EQ(*registry_->GetInternalKey(kAuditKeyRole), key->id);
}

TEST_F(AuditKeyTest, SeveralCandidatesDoNotStopStartUp) {
  pkcs11::TokenKey a = Labelled();
  pkcs11::TokenKey b = Labelled();
  auto key = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_NE(key->id, a.id);  // ambiguous: neither is trusted
  EXPECT_NE(key->id, b.id);
  EXPECT_EQ(*registry_->GetInternalKey(kAuditKeyRole), key->id);
  auto again = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id, key->id);
}

TEST_F(AuditKeyTest, RecordedKeyMissingOnTheTokenFailsStartUp) {
  auto key = OpenAuditKey(store(), *registry_, Inventory());
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_TRUE(store().Destroy(key->id).ok());
  pkcs11::TokenKey impostor = Labelled();  // must not be taken instead

  auto again = OpenAuditKey(store(), *registry_, Inventory());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(again.status().message()),
              HasSubstr("is not on token '" + token_->label() + "'"));
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("docs/operations.md"));
  // Nothing was generated or re-recorded.
  EXPECT_EQ(*registry_->GetInternalKey(kAuditKeyRole), key->id);
  auto keys = store().List();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front().id, impostor.id);
}

TEST_F(AuditKeyTest, RegistryRecordsAreNeverReplaced) {
  ASSERT_TRUE(registry_->RecordInternalKey("audit", "id-1").ok());
  EXPECT_EQ(registry_->RecordInternalKey("audit", "id-2").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry_->RecordInternalKey("other", "id-1").code(),
            absl::StatusCode::kAlreadyExists);
  OpenRegistry();
  EXPECT_EQ(*registry_->GetInternalKey("audit"), "id-1");
}

TEST_F(AuditKeyTest, RegistryFromBeforeInternalKeysGetsTheTable) {
  registry_.reset();
  const std::string path = dir_ + "/old-keys.db";
  {
    auto db = SqliteDb::Open(path, "old registry");
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("CREATE TABLE keys (key_id TEXT PRIMARY KEY, cka_id BLOB NOT NULL "
                            "UNIQUE, subject_type INTEGER NOT NULL, subject_value TEXT NOT NULL, "
                            "purpose INTEGER NOT NULL, algorithm INTEGER NOT NULL, state INTEGER "
                            "NOT NULL, create_us INTEGER NOT NULL, update_us INTEGER NOT NULL, "
                            "destroy_us INTEGER, attestation INTEGER NOT NULL, public_key BLOB "
                            "NOT NULL, pkcs11_uri TEXT NOT NULL, certificate BLOB NOT NULL);")
                    .ok());
  }
  pkcs11::TokenKey old_audit_key = Labelled();
  auto r = OpenKeyRegistry({.kind = "sqlite", .sqlite_path = path});
  ASSERT_TRUE(r.ok()) << r.status();
  auto key = OpenAuditKey(store(), **r, Inventory());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->id, old_audit_key.id);
  EXPECT_EQ(*(*r)->GetInternalKey(kAuditKeyRole), old_audit_key.id);
}

}  // namespace
}  // namespace ksef::service
