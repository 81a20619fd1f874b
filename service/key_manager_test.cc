// Key lifecycle on a real SoftHSM2 token and a real SQLite registry.
#include "service/key_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "pkcs11/hsm.h"
#include "service/key_registry_factory.h"
#include "tests/support/shared_hsm_test.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/test_hsm.h"

namespace ksef::service {
namespace {

class KeyManagerTest : public ksef::testing::SharedHsmTest {
 protected:
  static void SetUpTestSuite() {
    OpenSharedHsm("km-test");
  }
  static void TearDownTestSuite() {
    CloseSharedHsm();
  }

  void SetUp() override {
    dir_ = ksef::testing::MakeTempDir("ksef-registry");
    OpenManager();
  }
  void TearDown() override {
    manager_.reset();
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }
  void OpenManager() {
    manager_.reset();
    registry_.reset();
    auto r = OpenRegistry();
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = std::move(*r);
    manager_ = std::make_unique<KeyManager>(&hsm_->keys(), registry_.get(), &certificates_,
                                            absl::Hours(24),
                                            [this] { return now_; });
  }
  // Another connection to the same registry, as a second replica has.
  absl::StatusOr<std::unique_ptr<KeyRegistry>> OpenRegistry() {
    KeyRegistryConfig config;
    config.sqlite_path = dir_ + "/keys.db";
    return OpenKeyRegistry(config);
  }
  absl::StatusOr<KeyRecord> Create(const std::string& id, KeyPurpose purpose = KeyPurpose::kOffline,
                                   const std::string& nip = "5265877635") {
    CreateKeyParams p;
    p.key_id = id;
    p.subject_type = SubjectType::kNip;
    p.subject_value = nip;
    p.purpose = purpose;
    return manager_->Create(p);
  }

  std::string dir_;
  absl::Time now_ = absl::FromUnixSeconds(1800000000);
  std::unique_ptr<KeyRegistry> registry_;
  CertificateCache certificates_;
  std::unique_ptr<KeyManager> manager_;
};

TEST_F(KeyManagerTest, CreateGetAndStateSurvivesReopen) {
  auto k = Create("survivor", KeyPurpose::kAuthentication);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->name(), "keys/survivor");
  EXPECT_EQ(k->state, KeyState::kPendingCertificate);
  EXPECT_TRUE(k->attestation.never_extractable);
  ASSERT_TRUE(manager_->Disable("keys/survivor").ok());

  OpenManager();  // a restart: new registry connection, same file
  auto got = manager_->Get("keys/survivor");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->state, KeyState::kDisabled);
  EXPECT_EQ(got->purpose, KeyPurpose::kAuthentication);
  EXPECT_EQ(got->public_key_der, k->public_key_der);
  // Addressable by its PKCS#11 URI too.
  auto by_uri = manager_->Get(k->pkcs11_uri);
  ASSERT_TRUE(by_uri.ok()) << by_uri.status();
  EXPECT_EQ(by_uri->key_id, "survivor");
}

TEST_F(KeyManagerTest, BadInputGivesClearStatus) {
  CreateKeyParams p;
  p.subject_type = SubjectType::kNip;
  p.subject_value = "";
  auto r = manager_->Create(p);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("subject.value"), std::string::npos);
  p.subject_value = "1234567890";
  r = manager_->Create(p);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("check digit"), std::string::npos);
  p.subject_value = "5265877635";
  p.key_id = "Bad_Id";
  r = manager_->Create(p);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("key_id"), std::string::npos);

  EXPECT_EQ(manager_->Get("keys/nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(manager_->Get("nope").status().code(), absl::StatusCode::kInvalidArgument);
  auto bad_uri = manager_->Get("pkcs11:id=%G1");
  EXPECT_EQ(bad_uri.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_uri.status().message().find("name"), std::string::npos);

  ASSERT_TRUE(Create("dup").ok());
  EXPECT_EQ(Create("dup").status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(KeyManagerTest, ListFiltersAndPages) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Create(absl::StrCat("a-", i), KeyPurpose::kAuthentication).ok());
  }
  ASSERT_TRUE(Create("o-1", KeyPurpose::kOffline, "1111111111").ok());
  ASSERT_TRUE(manager_->Disable("keys/a-3").ok());

  KeyFilter auth;
  auth.purpose = KeyPurpose::kAuthentication;
  std::string next;
  int total = 0;
  auto page = manager_->List(auth, "", 2, &next, &total);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(total, 5);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].key_id, "a-0");
  std::vector<std::string> seen = {(*page)[0].key_id, (*page)[1].key_id};
  while (!next.empty()) {
    std::string token = next;
    page = manager_->List(auth, token, 2, &next, nullptr);
    ASSERT_TRUE(page.ok());
    for (auto& r : *page) seen.push_back(r.key_id);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a-0", "a-1", "a-2", "a-3", "a-4"}));

  KeyFilter subject;
  subject.subject_type = SubjectType::kNip;
  subject.subject_value = "1111111111";
  page = manager_->List(subject, "", 0, &next, &total);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].key_id, "o-1");

  KeyFilter disabled;
  disabled.state = KeyState::kDisabled;
  page = manager_->List(disabled, "", 0, &next, &total);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].key_id, "a-3");

  EXPECT_EQ(manager_->List(auth, "garbage!", 2, &next, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KeyManagerTest, DisableEnableTransitions) {
  ASSERT_TRUE(Create("flip").ok());
  EXPECT_EQ(manager_->Enable("keys/flip").status().code(), absl::StatusCode::kFailedPrecondition);
  auto d = manager_->Disable("keys/flip");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, KeyState::kDisabled);
  EXPECT_EQ(manager_->Disable("keys/flip").status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto e = manager_->Enable("keys/flip");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->state, KeyState::kPendingCertificate);
}

TEST_F(KeyManagerTest, ScheduledKeyRestoresInsideGraceAndIsGoneAfter) {
  auto k = Create("doomed");
  ASSERT_TRUE(k.ok());
  auto s = manager_->ScheduleDestruction("keys/doomed");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->state, KeyState::kScheduledForDestruction);
  EXPECT_EQ(*s->destroy_time, now_ + absl::Hours(24));
  now_ += absl::Hours(23);
  ASSERT_EQ(*manager_->DestroyDue(), 0);
  auto r = manager_->Restore("keys/doomed");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, KeyState::kDisabled);
  EXPECT_FALSE(r->destroy_time.has_value());

  ASSERT_TRUE(manager_->ScheduleDestruction("keys/doomed").ok());
  now_ += absl::Hours(25);
  EXPECT_EQ(manager_->Restore("keys/doomed").status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(*manager_->DestroyDue(), 1);
  EXPECT_EQ(manager_->Get("keys/doomed").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hsm_->keys().Get(k->cka_id).status().code(), absl::StatusCode::kNotFound);
  // The id is never reused.
  EXPECT_EQ(Create("doomed").status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(KeyManagerTest, ReconcileReportsBothDirectionsAndFinishesInterruptedCreation) {
  // A key on the token that no registry row knows.
  auto stray = hsm_->keys().Generate(crypto::KeyAlgorithm::kEcP256, "stray");
  ASSERT_TRUE(stray.ok());
  // A registry key whose token objects vanished.
  auto lost = Create("lost");
  ASSERT_TRUE(lost.ok());
  ASSERT_TRUE(hsm_->keys().Destroy(lost->cka_id).ok());
  // A creation interrupted after generation (row still CREATING).
  KeyRecord half;
  half.key_id = "half";
  half.cka_id = pkcs11::KeyStore::NewId();
  half.subject_value = "5265877635";
  half.create_time = half.update_time = now_;
  ASSERT_TRUE(registry_->Insert(half).ok());
  ASSERT_TRUE(hsm_->keys().Generate(crypto::KeyAlgorithm::kEcP256, "half", half.cka_id).ok());
  // And one interrupted before generation.
  KeyRecord never = half;
  never.key_id = "never";
  never.cka_id = pkcs11::KeyStore::NewId();
  ASSERT_TRUE(registry_->Insert(never).ok());

  auto report = manager_->Reconcile();
  ASSERT_TRUE(report.ok()) << report.status();
  // A running service leaves a fresh CREATING row alone (another process
  // sharing the registry may be creating it) ...
  EXPECT_TRUE(registry_->Get("never").ok());
  // ... and drops it once it is older than the creation lease.
  now_ += KeyManager::kCreatingLease + absl::Seconds(1);
  report = manager_->Reconcile();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_NE(std::find(report->unknown_token_keys.begin(), report->unknown_token_keys.end(),
                      stray->uri),
            report->unknown_token_keys.end());
  EXPECT_NE(std::find(report->missing_keys.begin(), report->missing_keys.end(), "keys/lost"),
            report->missing_keys.end());
  auto completed = manager_->Get("keys/half");
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->state, KeyState::kPendingCertificate);
  EXPECT_FALSE(completed->public_key_der.empty());
  EXPECT_EQ(registry_->Get("never").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(hsm_->keys().Destroy(stray->id).ok());
}

// pkcs11-tool on the shared token (SOFTHSM2_CONF is set for this process).
int Pkcs11Tool(const std::string& args, std::string* out) {
  return ksef::testing::RunCommand(
      absl::StrCat("pkcs11-tool --module ", ksef::testing::TestToken::ModulePath(),
                   " --token-label ", ksef::testing::SharedHsmTest::TokenLabel(), " --login --pin ",
                   ksef::testing::SharedHsmTest::TokenPin(), " ", args, " 2>&1"),
      out);
}

// What an interrupted C_GenerateKeyPair leaves on SoftHSM2: the public key
// written, the private key not.
void MakeHalfKeyPair(const std::string& id, const std::string& label) {
  std::string out;
  ASSERT_EQ(Pkcs11Tool(absl::StrCat("--keypairgen --key-type EC:prime256v1 --id ", HexUpper(id),
                                    " --label ", label),
                       &out),
            0)
      << out;
  ASSERT_EQ(Pkcs11Tool(absl::StrCat("--delete-object --type privkey --id ", HexUpper(id)), &out), 0)
      << out;
}

bool Mentions(const std::vector<std::string>& lines, const std::string& id) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return absl::StrContains(l, HexUpper(id)); });
}

TEST_F(KeyManagerTest, StartupRemovesDebrisOfInterruptedCreationsAndReportsTheRest) {
  // A creation of ours interrupted inside C_GenerateKeyPair.
  KeyRecord crashed;
  crashed.key_id = "crashed";
  crashed.cka_id = pkcs11::KeyStore::NewId();
  crashed.subject_value = "5265877635";
  crashed.create_time = crashed.update_time = now_;
  ASSERT_TRUE(registry_->Insert(crashed).ok());
  MakeHalfKeyPair(crashed.cka_id, "crashed");
  // Debris that no creation of ours explains.
  const std::string foreign = pkcs11::KeyStore::NewId();
  MakeHalfKeyPair(foreign, "foreign");

  auto report = manager_->Reconcile();  // a running service: report only
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(Mentions(report->incomplete_token_objects, crashed.cka_id));
  EXPECT_TRUE(Mentions(report->incomplete_token_objects, foreign));
  EXPECT_TRUE(registry_->Get("crashed").ok());
  EXPECT_FALSE(Mentions(report->unknown_token_keys, crashed.cka_id));

  auto inventory = hsm_->keys().Inventory();
  ASSERT_TRUE(inventory.ok()) << inventory.status();
  report = manager_->ReconcileAtStartup(*inventory);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(Mentions(report->incomplete_token_objects, crashed.cka_id));
  EXPECT_TRUE(Mentions(report->incomplete_token_objects, foreign)) << "not ours: only reported";
  EXPECT_EQ(registry_->Get("crashed").status().code(), absl::StatusCode::kNotFound);
  std::string out;
  ASSERT_EQ(Pkcs11Tool(absl::StrCat("--delete-object --type pubkey --id ", HexUpper(foreign)), &out),
            0)
      << out;
}

TEST_F(KeyManagerTest, InternalPrefixIsReservedForNewKeys) {
  for (const char* id : {"ksef-hsm-audit", "ksef-hsm-x"}) {
    auto k = Create(id);
    EXPECT_EQ(k.status().code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_THAT(std::string(k.status().message()), ::testing::HasSubstr("reserved")) << id;
    EXPECT_EQ(registry_->Get(id).status().code(), absl::StatusCode::kNotFound);
  }
  ImportKeyParams p;
  p.key_id = "ksef-hsm-audit";
  p.subject_value = "5265877635";
  // Refused before the key or certificate is looked at.
  auto imported = manager_->ImportKey(p, nullptr, "");
  EXPECT_EQ(imported.status().code(), absl::StatusCode::kInvalidArgument);
  // Only the exact prefix is reserved.
  auto near = Create("ksef-hsmx");
  EXPECT_TRUE(near.ok()) << near.status();
}

TEST_F(KeyManagerTest, ReservedKeyIsUnreachableAndForeignInternalLabelsAreReported) {
  auto internal = hsm_->keys().Generate(crypto::KeyAlgorithm::kEcP256, "ksef-hsm-audit");
  ASSERT_TRUE(internal.ok()) << internal.status();
  auto foreign = hsm_->keys().Generate(crypto::KeyAlgorithm::kEcP256, "ksef-hsm-audit");
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  manager_->ReserveTokenKey(internal->id);

  auto report = manager_->Reconcile();
  ASSERT_TRUE(report.ok()) << report.status();
  const auto& flagged = report->foreign_internal_label_keys;
  EXPECT_NE(std::find(flagged.begin(), flagged.end(), foreign->uri), flagged.end());
  EXPECT_EQ(std::find(flagged.begin(), flagged.end(), internal->uri), flagged.end());
  const auto& unknown = report->unknown_token_keys;
  EXPECT_NE(std::find(unknown.begin(), unknown.end(), foreign->uri), unknown.end());
  EXPECT_EQ(std::find(unknown.begin(), unknown.end(), internal->uri), unknown.end());

  // No name reaches the reserved key: not its label, not its URI.
  EXPECT_EQ(manager_->Get(internal->uri).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(manager_->Get("keys/ksef-hsm-audit").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(hsm_->keys().Destroy(internal->id).ok());
  ASSERT_TRUE(hsm_->keys().Destroy(foreign->id).ok());
}

// A key a sweep has claimed (DESTROYING, left by a replica that died before
// finishing) is shown as scheduled, refuses every change, and is destroyed
// by another replica's sweep once the claim's lease is over.
TEST_F(KeyManagerTest, AClaimedKeyRefusesChangesAndAnAbandonedClaimIsFinished) {
  auto k = Create("claimed");
  ASSERT_TRUE(k.ok()) << k.status();
  ASSERT_TRUE(manager_->ScheduleDestruction("keys/claimed").ok());
  KeyRecord row = *registry_->Get("claimed");
  row.state = KeyState::kDestroying;
  row.update_time = now_;
  ASSERT_TRUE(registry_->Update(row).ok());

  auto shown = manager_->Get("keys/claimed");
  ASSERT_TRUE(shown.ok()) << shown.status();
  EXPECT_EQ(shown->state, KeyState::kScheduledForDestruction);
  EXPECT_EQ(manager_->Restore("keys/claimed").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(manager_->SetUsageLimit("keys/claimed", 5).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(registry_->Get("claimed")->state, KeyState::kDestroying);  // not written back

  ASSERT_EQ(*manager_->DestroyDue(), 0);  // its owner may still be at work
  now_ += KeyManager::kCreatingLease + absl::Seconds(1);
  ASSERT_EQ(*manager_->DestroyDue(), 1);
  EXPECT_EQ(registry_->Get("claimed")->state, KeyState::kDestroyed);
  EXPECT_EQ(hsm_->keys().Get(k->cka_id).status().code(), absl::StatusCode::kNotFound);
}

// Two replicas (their own registry connections and clocks) on one registry
// and token: A restores keys while B's sweep, whose clock is past the grace
// period, destroys them. Each key ends one way or the other, the same on
// token and registry, and a key A was told is restored is never destroyed.
TEST_F(KeyManagerTest, RestoreRacingAnotherReplicasSweepHasOneOutcomePerKey) {
  constexpr int kKeys = 60;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(Create(absl::StrCat("race-", i)).ok());
    ASSERT_TRUE(manager_->ScheduleDestruction(absl::StrCat("keys/race-", i)).ok());
  }
  auto other = OpenRegistry();
  ASSERT_TRUE(other.ok()) << other.status();
  const absl::Time sweep_time = now_ + absl::Hours(25);  // grace period (24 h) over
  KeyManager sweeper(&hsm_->keys(), other->get(), &certificates_, absl::Hours(24),
                     [sweep_time] { return sweep_time; });
  now_ += absl::Hours(23);  // A: still inside the grace period

  // The sweep claims keys in key id order, A restores them in reverse: they
  // meet somewhere in between, and race there.
  std::vector<absl::Status> restored(kKeys);
  std::atomic<bool> go{false}, done{false};
  std::thread sweeping([&] {
    while (!go.load()) std::this_thread::yield();
    while (!done.load()) {
      auto n = sweeper.DestroyDue();
      ASSERT_TRUE(n.ok()) << n.status();
    }
  });
  go = true;
  for (int i = kKeys - 1; i >= 0; --i) {
    restored[i] = manager_->Restore(absl::StrCat("keys/race-", i)).status();
  }
  done = true;
  sweeping.join();
  ASSERT_TRUE(sweeper.DestroyDue().ok());  // whatever was not restored

  int kept = 0;
  for (int i = 0; i < kKeys; ++i) {
    KeyRecord row = *registry_->Get(absl::StrCat("race-", i));
    const bool on_token = hsm_->keys().Get(row.cka_id).ok();
    if (restored[i].ok()) {
      ++kept;
      EXPECT_EQ(row.state, KeyState::kDisabled) << i;
      EXPECT_TRUE(on_token) << i << ": restored, then destroyed";
    } else {
      // Claimed (being destroyed), lost the compare-and-set, or already gone.
      EXPECT_THAT(restored[i].code(), ::testing::AnyOf(absl::StatusCode::kFailedPrecondition,
                                                       absl::StatusCode::kAborted,
                                                       absl::StatusCode::kNotFound))
          << restored[i];
      EXPECT_EQ(row.state, KeyState::kDestroyed) << i;
      EXPECT_FALSE(on_token) << i;
    }
  }
  // Not a test of luck: report how the races went.
  std::cout << kept << " of " << kKeys << " keys restored before the sweep took them\n";
  for (int i = 0; i < kKeys; ++i) {
    KeyRecord row = *registry_->Get(absl::StrCat("race-", i));
    if (row.state != KeyState::kDestroyed) {
      ASSERT_TRUE(hsm_->keys().Destroy(row.cka_id).ok());
    }
  }
}

}  // namespace
}  // namespace ksef::service
