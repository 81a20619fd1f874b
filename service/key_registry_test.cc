// The key registry contract (key_registry.h) on both real stores: SQLite in a
// temp dir and PostgreSQL in a fresh database on the KSEF_TEST_PG server
// (scripts/test.sh starts one; without KSEF_TEST_PG the PostgreSQL instances
// are skipped). Two registry instances on one store stand for two replicas.
#include "service/key_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sqlite.h"
#include "service/key_registry_factory.h"
#include "service/postgres_key_registry.h"
#include "service/sqlite_key_registry.h"
#include "tests/support/postgres_test_db.h"
#include "tests/support/softhsm_token.h"

namespace ksef::service {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

bool HavePostgres() {
  const char* pg = std::getenv("KSEF_TEST_PG");
  return pg != nullptr && *pg != '\0';
}

// One store; Open() makes another registry instance on it.
class Store {
 public:
  virtual ~Store() = default;
  virtual absl::StatusOr<std::unique_ptr<KeyRegistry>> Open() = 0;
  // Runs SQL on the store behind the registry's back.
  virtual absl::Status Sql(const std::string& sql) = 0;
};

class SqliteStore final : public Store {
 public:
  SqliteStore() : dir_(ksef::testing::MakeTempDir("ksef-registry")), path_(dir_ + "/keys.db") {}
  ~SqliteStore() override { ksef::testing::RunCommand("rm -rf " + dir_); }
  absl::StatusOr<std::unique_ptr<KeyRegistry>> Open() override {
    return OpenKeyRegistry({.kind = "sqlite", .sqlite_path = path_});
  }
  absl::Status Sql(const std::string& sql) override {
    auto db = SqliteDb::Open(path_, "test");
    if (!db.ok()) return db.status();
    return (*db)->Exec(sql.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

class PostgresStore final : public Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Create() {
    auto db = ksef::testing::TestPostgresDb::Create("ksef_registry_test");
    if (!db.ok()) return db.status();
    return std::unique_ptr<Store>(new PostgresStore(std::move(*db)));
  }
  absl::StatusOr<std::unique_ptr<KeyRegistry>> Open() override {
    return OpenKeyRegistry({.kind = "postgres", .postgres_conninfo = db_->conninfo()});
  }
  absl::Status Sql(const std::string& sql) override { return db_->Exec(sql); }

 private:
  explicit PostgresStore(std::unique_ptr<ksef::testing::TestPostgresDb> db) : db_(std::move(db)) {}
  std::unique_ptr<ksef::testing::TestPostgresDb> db_;
};

KeyRecord Record(const std::string& id, int n = 0) {
  KeyRecord r;
  r.key_id = id;
  r.cka_id = absl::StrCat("cka-", id, std::string(1, '\0'), "\xff");
  r.subject_type = n % 2 == 0 ? SubjectType::kNip : SubjectType::kPesel;
  r.subject_value = n % 3 == 0 ? "5260250274" : absl::StrCat("subject-", n % 3);
  r.purpose = n % 4 == 0 ? KeyPurpose::kOffline : KeyPurpose::kAuthentication;
  r.algorithm = n % 5 == 0 ? crypto::KeyAlgorithm::kRsa2048 : crypto::KeyAlgorithm::kEcP256;
  r.state = KeyState::kActive;
  r.create_time = absl::FromUnixMicros(1700000000123456 + n);
  r.update_time = absl::FromUnixMicros(1700000001654321 + n);
  r.attestation.local = true;
  r.attestation.sensitive = true;
  r.attestation.never_extractable = n % 2 == 1;
  r.public_key_der = std::string("\x30\x59\x00\x01", 4) + id;
  r.pkcs11_uri = "pkcs11:token=ksef;id=%01";
  r.certificate_der = n % 2 == 0 ? "" : std::string("\x30\x82\x00", 3);
  return r;
}

void ExpectSame(const KeyRecord& a, const KeyRecord& b) {
  EXPECT_EQ(a.key_id, b.key_id);
  EXPECT_EQ(a.cka_id, b.cka_id);
  EXPECT_EQ(a.subject_type, b.subject_type);
  EXPECT_EQ(a.subject_value, b.subject_value);
  EXPECT_EQ(a.purpose, b.purpose);
  EXPECT_EQ(a.algorithm, b.algorithm);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.create_time, b.create_time);
  EXPECT_EQ(a.update_time, b.update_time);
  EXPECT_EQ(a.destroy_time, b.destroy_time);
  EXPECT_EQ(a.attestation.local, b.attestation.local);
  EXPECT_EQ(a.attestation.sensitive, b.attestation.sensitive);
  EXPECT_EQ(a.attestation.extractable, b.attestation.extractable);
  EXPECT_EQ(a.attestation.never_extractable, b.attestation.never_extractable);
  EXPECT_EQ(a.public_key_der, b.public_key_der);
  EXPECT_EQ(a.pkcs11_uri, b.pkcs11_uri);
  EXPECT_EQ(a.certificate_der, b.certificate_der);
  EXPECT_EQ(a.usage_limit, b.usage_limit);
  EXPECT_EQ(a.version, b.version);
}

struct StoreParam {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<Store>>()> make;
  bool postgres;
};
void PrintTo(const StoreParam& param, std::ostream* os) { *os << param.name; }

class KeyRegistryTest : public ::testing::TestWithParam<StoreParam> {
 protected:
  void SetUp() override {
    if (GetParam().postgres && !HavePostgres()) {
      GTEST_SKIP() << "KSEF_TEST_PG is not set: start a server with "
                      "scripts/pg-test-server.sh (scripts/test.sh does)";
    }
    auto store = GetParam().make();
    ASSERT_TRUE(store.ok()) << GetParam().name << " store: " << store.status();
    store_ = std::move(*store);
    a_ = OpenRegistry();
    b_ = OpenRegistry();
  }

  std::unique_ptr<KeyRegistry> OpenRegistry() {
    auto r = store_->Open();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(*r) : nullptr;
  }

  KeyRecord Insert(const std::string& id, int n = 0, int64_t usage_limit = 0) {
    KeyRecord r = Record(id, n);
    r.usage_limit = usage_limit;
    absl::Status s = a_->Insert(r);
    EXPECT_TRUE(s.ok()) << s;
    return r;
  }

  std::unique_ptr<Store> store_;
  std::unique_ptr<KeyRegistry> a_;  // "replica A"
  std::unique_ptr<KeyRegistry> b_;  // "replica B"
};

TEST_P(KeyRegistryTest, InsertGetAndTombstones) {
  KeyRecord r = Record("k1", 1);
  r.usage_limit = 20;
  r.version = 77;  // ignored
  ASSERT_TRUE(a_->Insert(r).ok());
  EXPECT_EQ(r.version, 1);
  auto got = b_->Get("k1");
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, r);
  auto by_id = b_->GetByCkaId(r.cka_id);
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  EXPECT_EQ(by_id->key_id, "k1");
  EXPECT_EQ(b_->Get("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(b_->GetByCkaId("nope").status().code(), absl::StatusCode::kNotFound);

  KeyRecord same_id = Record("k1", 2);
  same_id.cka_id = "other";
  EXPECT_EQ(b_->Insert(same_id).code(), absl::StatusCode::kAlreadyExists);
  KeyRecord same_cka = Record("k2", 2);
  same_cka.cka_id = r.cka_id;
  EXPECT_EQ(b_->Insert(same_cka).code(), absl::StatusCode::kAlreadyExists);

  // Destroyed keys stay: the id is never reused.
  got->state = KeyState::kDestroyed;
  got->destroy_time = absl::FromUnixMicros(1800000000000001);
  ASSERT_TRUE(b_->Update(*got).ok());
  auto tomb = a_->Get("k1");
  ASSERT_TRUE(tomb.ok());
  ExpectSame(*tomb, *got);
  EXPECT_EQ(a_->Insert(same_id).code(), absl::StatusCode::kAlreadyExists);

  // Delete is for CREATING rows that never got key material.
  KeyRecord creating = Insert("k3", 3);
  ASSERT_TRUE(b_->Delete("k3").ok());
  EXPECT_EQ(a_->Get("k3").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(a_->Insert(creating).ok());
}

TEST_P(KeyRegistryTest, ListFiltersAndPages) {
  for (int i = 0; i < 24; ++i) {
    KeyRecord r = Record(absl::StrCat("key-", i < 10 ? "0" : "", i), i);
    if (i % 6 == 5) r.state = KeyState::kDestroyed;
    if (i % 6 == 4) r.state = KeyState::kDisabled;
    ASSERT_TRUE(a_->Insert(r).ok());
  }
  int total = -1;
  auto all = b_->List(KeyFilter{}, "", 100, &total);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(total, 20);  // four destroyed left out
  ASSERT_EQ(all->size(), 20u);
  for (size_t i = 1; i < all->size(); ++i) EXPECT_LT((*all)[i - 1].key_id, (*all)[i].key_id);

  KeyFilter with_destroyed;
  with_destroyed.include_destroyed = true;
  EXPECT_EQ(b_->List(with_destroyed, "", 100, nullptr)->size(), 24u);

  // Pages of 7 after a cursor; the total counts every match, not the page.
  std::vector<std::string> seen;
  std::string cursor;
  while (true) {
    auto page = b_->List(with_destroyed, cursor, 7, &total);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(total, 24);
    if (page->empty()) break;
    for (const KeyRecord& r : *page) seen.push_back(r.key_id);
    cursor = page->back().key_id;
  }
  ASSERT_EQ(seen.size(), 24u);
  EXPECT_EQ(seen.front(), "key-00");
  EXPECT_EQ(seen.back(), "key-23");

  KeyFilter f;
  f.subject_type = SubjectType::kNip;
  f.subject_value = "5260250274";
  f.purpose = KeyPurpose::kOffline;
  auto match = b_->List(f, "", 100, &total);  // i % 2 == 0, i % 3 == 0, i % 4 == 0: 0, 12
  ASSERT_TRUE(match.ok());
  ASSERT_EQ(match->size(), 2u);
  EXPECT_EQ((*match)[0].key_id, "key-00");
  EXPECT_EQ((*match)[1].key_id, "key-12");
  KeyFilter disabled;
  disabled.state = KeyState::kDisabled;
  EXPECT_EQ(b_->List(disabled, "", 100, &total)->size(), 4u);
  EXPECT_EQ(total, 4);
  KeyFilter destroyed;
  destroyed.state = KeyState::kDestroyed;
  destroyed.include_destroyed = true;
  EXPECT_EQ(b_->List(destroyed, "key-05", 100, nullptr)->size(), 3u);
}

TEST_P(KeyRegistryTest, InternalKeysAreKeptApart) {
  EXPECT_EQ(a_->GetInternalKey("audit").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(a_->RecordInternalKey("audit", std::string("id\0\x01", 4)).ok());
  EXPECT_EQ(*b_->GetInternalKey("audit"), std::string("id\0\x01", 4));
  EXPECT_EQ(b_->RecordInternalKey("audit", "other").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(b_->RecordInternalKey("backup", std::string("id\0\x01", 4)).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*a_->GetInternalKey("audit"), std::string("id\0\x01", 4));
  EXPECT_EQ(a_->GetByCkaId(std::string("id\0\x01", 4)).status().code(),
            absl::StatusCode::kNotFound);
  int total = -1;
  EXPECT_TRUE(a_->List(KeyFilter{}, "", 10, &total)->empty());
  EXPECT_EQ(total, 0);
}

TEST_P(KeyRegistryTest, UpdateIsCompareAndSet) {
  Insert("k", 1, /*usage_limit=*/5);
  ASSERT_TRUE(a_->ReserveUse("k", "node-a").ok());
  KeyRecord first = *a_->Get("k");
  KeyRecord second = *b_->Get("k");
  ASSERT_EQ(first.version, 1);
  ASSERT_EQ(second.version, 1);
  first.state = KeyState::kDisabled;
  ASSERT_TRUE(a_->Update(first).ok());
  EXPECT_EQ(first.version, 2);
  second.state = KeyState::kScheduledForDestruction;
  absl::Status lost = b_->Update(second);
  EXPECT_EQ(lost.code(), absl::StatusCode::kAborted) << lost;
  EXPECT_THAT(lost.message(), HasSubstr("keys/k was changed by another request"));
  EXPECT_EQ(second.version, 1);
  KeyRecord fresh = *b_->Get("k");
  EXPECT_EQ(fresh.state, KeyState::kDisabled);
  EXPECT_EQ(fresh.version, 2);
  fresh.state = KeyState::kActive;
  fresh.usage_limit = 9;
  ASSERT_TRUE(b_->Update(fresh).ok());
  EXPECT_EQ(fresh.version, 3);
  ExpectSame(*a_->Get("k"), fresh);
  // The usage counts are not the record's: Update leaves them.
  bool counted = false;
  auto usage = a_->Usage("k", &counted);
  ASSERT_TRUE(usage.ok());
  EXPECT_TRUE(counted);
  EXPECT_EQ(usage->reserved, 1);
  EXPECT_EQ(usage->limit, 9);

  KeyRecord absent = Record("absent");
  absent.version = 1;
  EXPECT_EQ(a_->Update(absent).code(), absl::StatusCode::kNotFound);
}

TEST_P(KeyRegistryTest, ConcurrentWritersOfOneRowOneWinsEachRound) {
  Insert("k");
  constexpr int kThreads = 6, kRounds = 15;
  std::atomic<int> wins{0}, aborted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      KeyRegistry& r = t % 2 == 0 ? *a_ : *b_;
      for (int i = 0; i < kRounds; ++i) {
        auto rec = r.Get("k");
        if (!rec.ok()) {
          other++;
          continue;
        }
        rec->subject_value = absl::StrCat("t", t, "-", i);
        absl::Status s = r.Update(*rec);
        if (s.ok()) {
          wins++;
        } else if (absl::IsAborted(s)) {
          aborted++;
        } else {
          ADD_FAILURE() << s;
          other++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(wins + aborted, kThreads * kRounds);
  EXPECT_EQ(a_->Get("k")->version, 1 + wins.load());  // every win and only they
}

// 8 threads on each of two registry instances reserve and settle as fast as
// they can; every tenth reservation is settled as not used (the signature
// failed), which gives its use back.
TEST_P(KeyRegistryTest, UsageLimitIsExactAcrossReplicas) {
  constexpr int kLimit = 500, kThreadsEach = 8;
  Insert("k", 0, kLimit);
  std::atomic<int> granted{0}, unused{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsEach; ++t) {
    threads.emplace_back([&, t] {
      KeyRegistry& r = t < kThreadsEach ? *a_ : *b_;
      const std::string node = t < kThreadsEach ? "node-a" : "node-b";
      while (true) {
        auto u = r.ReserveUse("k", node);
        if (absl::IsFailedPrecondition(u.status())) break;
        if (!u.ok()) {
          ADD_FAILURE() << u.status();
          errors++;
          break;
        }
        if (u->used + u->reserved > kLimit) ADD_FAILURE() << u->used << "+" << u->reserved;
        const bool used = granted++ % 10 != 9;
        if (!used) unused++;
        absl::Status s = r.SettleUse("k", node, used);
        if (!s.ok()) {
          ADD_FAILURE() << s;
          errors++;
          break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(granted - unused, kLimit);
  bool counted = false;
  auto usage = b_->Usage("k", &counted);
  ASSERT_TRUE(usage.ok());
  EXPECT_TRUE(counted);
  EXPECT_EQ(usage->used, kLimit);
  EXPECT_EQ(usage->reserved, 0);
  EXPECT_EQ(usage->limit, kLimit);
  auto refused = a_->ReserveUse("k", "node-a");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("(500 of 500 signatures"));
  EXPECT_EQ(*a_->SettleAbandonedUses("node-a"), 0);
}

TEST_P(KeyRegistryTest, AbandonedUsesOfOneNodeCountAsUsed) {
  Insert("k", 0, 10);
  Insert("j", 1, 10);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a_->ReserveUse("k", "node-a").ok());
  ASSERT_TRUE(a_->ReserveUse("j", "node-a").ok());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(b_->ReserveUse("k", "node-b").ok());
  auto after = a_->ReserveUse("k", "node-b");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->reserved, 6);
  ASSERT_TRUE(b_->SettleUse("k", "node-b", true).ok());

  // node-a crashed; at its restart:
  auto settled = OpenRegistry()->SettleAbandonedUses("node-a");
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(*settled, 4);
  auto k = b_->Usage("k", nullptr);
  EXPECT_EQ(k->used, 4);      // 3 abandoned + 1 settled by node-b
  EXPECT_EQ(k->reserved, 2);  // node-b's
  EXPECT_EQ(b_->Usage("j", nullptr)->used, 1);
  // node-a holds nothing any more: its settle changes nothing.
  ASSERT_TRUE(a_->SettleUse("k", "node-a", true).ok());
  EXPECT_EQ(b_->Usage("k", nullptr)->used, 4);
  EXPECT_EQ(*a_->SettleAbandonedUses("node-a"), 0);
  // node-b's reservations are still its own.
  ASSERT_TRUE(b_->SettleUse("k", "node-b", false).ok());
  k = b_->Usage("k", nullptr);
  EXPECT_EQ(k->used, 4);
  EXPECT_EQ(k->reserved, 1);
}

TEST_P(KeyRegistryTest, UsageIsInitialisedOnce) {
  Insert("k", 0, 10);
  Insert("free", 1, 0);
  EXPECT_EQ(a_->ReserveUse("nope", "n").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(a_->Usage("nope", nullptr).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(a_->ReserveUse("free", "n").status().code(), absl::StatusCode::kFailedPrecondition);
  // As a key from a registry older than the count.
  ASSERT_TRUE(store_->Sql("UPDATE keys SET used=NULL WHERE key_id='k'").ok());
  bool counted = true;
  EXPECT_EQ(a_->Usage("k", &counted)->used, 0);
  EXPECT_FALSE(counted);
  auto refused = a_->ReserveUse("k", "n");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("usage not counted yet"));
  ASSERT_TRUE(a_->InitUsage("k", 8).ok());
  ASSERT_TRUE(b_->InitUsage("k", 3).ok());  // another replica was first: no change
  auto u = b_->Usage("k", &counted);
  EXPECT_TRUE(counted);
  EXPECT_EQ(u->used, 8);
  EXPECT_TRUE(a_->ReserveUse("k", "n").ok());
  EXPECT_TRUE(a_->ReserveUse("k", "n").ok());
  EXPECT_EQ(a_->ReserveUse("k", "n").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a_->InitUsage("nope", 1).code(), absl::StatusCode::kNotFound);
}

TEST_P(KeyRegistryTest, LocksExcludeOtherReplicas) {
  auto held = a_->Lock(kLockSweeps, absl::Seconds(5));
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_NE(*held, nullptr);
  auto tried = b_->TryLock(kLockSweeps);
  ASSERT_TRUE(tried.ok()) << tried.status();
  EXPECT_EQ(*tried, nullptr);
  auto other = b_->TryLock(kLockAuditKey);  // another name is free
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, nullptr);
  auto timed_out = b_->Lock(kLockSweeps, absl::Milliseconds(150));
  EXPECT_EQ(timed_out.status().code(), absl::StatusCode::kDeadlineExceeded) << timed_out.status();

  std::atomic<bool> taken{false};
  std::thread waiter([&] {
    auto lock = b_->Lock(kLockSweeps, absl::Seconds(30));
    EXPECT_TRUE(lock.ok()) << lock.status();
    taken = true;
  });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(taken.load());  // blocked while A holds it
  held->reset();
  waiter.join();
  EXPECT_TRUE(taken.load());
  // The waiter's lock went with it: free again.
  auto again = a_->TryLock(kLockSweeps);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, nullptr);
  EXPECT_EQ(a_->TryLock("../etc/passwd").status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(
    Stores, KeyRegistryTest,
    ::testing::Values(StoreParam{"Sqlite",
                                 []() -> absl::StatusOr<std::unique_ptr<Store>> {
                                   return std::unique_ptr<Store>(new SqliteStore());
                                 },
                                 false},
                      StoreParam{"Postgres", [] { return PostgresStore::Create(); }, true}),
    [](const ::testing::TestParamInfo<StoreParam>& info) { return info.param.name; });

}  // namespace
}  // namespace ksef::service
