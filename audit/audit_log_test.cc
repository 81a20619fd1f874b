// The audit log on a real SQLite file: concurrent group-committed writes form
// one verified chain; edits, deletions and truncation are found at the right
// event; a store that cannot write makes Record fail closed and recovers.
#include "audit/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/sqlite_audit_store.h"
#include "audit/verifier.h"
#include "common/ecdsa.h"
#include "common/openssl_ptr.h"
#include "common/sqlite.h"
#include "tests/support/softhsm_token.h"

namespace ksef::audit {
namespace {

using ::testing::HasSubstr;

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
    return CheckpointSigner{spki_, [this](const std::string& digest) -> absl::StatusOr<std::string> {
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

// Fault injection around the real store: Append/AddCheckpoint fail while set.
class FlakyStore : public AuditStore {
 public:
  explicit FlakyStore(AuditStore* inner) : inner_(inner) {}
  std::atomic<bool> fail{false};
  absl::StatusOr<ChainHead> Head(const std::string& n) override { return inner_->Head(n); }
  absl::Status Append(const std::vector<AuditEvent>& e) override {
    if (fail) return absl::UnavailableError("disk full (injected)");
    return inner_->Append(e);
  }
  absl::Status AddCheckpoint(const Checkpoint& c) override {
    if (fail) return absl::UnavailableError("disk full (injected)");
    return inner_->AddCheckpoint(c);
  }
  absl::StatusOr<std::vector<Checkpoint>> Checkpoints(const std::string& n) override {
    return inner_->Checkpoints(n);
  }
  absl::StatusOr<std::vector<std::string>> Nodes() override { return inner_->Nodes(); }
  absl::StatusOr<std::vector<AuditEvent>> ReadChain(const std::string& n, int64_t a,
                                                    int l) override {
    return inner_->ReadChain(n, a, l);
  }
  absl::StatusOr<AuditPage> Query(const AuditQuery& q) override { return inner_->Query(q); }
  absl::StatusOr<std::vector<UsageCount>> Usage(const std::string& k,
                                                std::optional<absl::Time> s,
                                                std::optional<absl::Time> u) override {
    return inner_->Usage(k, s, u);
  }

 private:
  AuditStore* inner_;
};

AuditEvent Event(const std::string& op, const std::string& key, int i) {
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

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ksef::testing::MakeTempDir("ksef-audit");
    path_ = dir_ + "/audit.db";
    store_ = SqliteAuditStore::Open(path_).value();
  }
  void TearDown() override { ksef::testing::RunCommand("rm -rf " + dir_); }

  std::unique_ptr<AuditLog> StartLog(AuditStore* store, const std::string& node = "node-a") {
    AuditLogOptions options;
    options.node = node;
    options.checkpoint_interval = absl::Hours(1);
    options.probe_interval = absl::Milliseconds(50);
    auto log = AuditLog::Start(store, key_.signer(), options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  void Write(AuditLog& log, int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(log.Record(Event("SignAuthToken", "keys/a", i)).ok());
  }

  VerifyReport Verify() {
    auto store = SqliteAuditStore::Open(path_, /*read_only=*/true).value();
    auto report = VerifyAuditChain(*store, key_.spki());
    EXPECT_TRUE(report.ok()) << report.status();
    return *report;
  }

  void Sql(const std::string& sql) {
    auto db = SqliteDb::Open(path_, "test").value();
    ASSERT_TRUE(db->Exec(sql.c_str()).ok()) << sql;
  }

  TestAuditKey key_;
  std::string dir_, path_;
  std::unique_ptr<SqliteAuditStore> store_;
};

TEST_F(AuditLogTest, ConcurrentRecordsFormOneVerifiedChain) {
  auto log = StartLog(store_.get());
  constexpr int kThreads = 8, kEach = 250;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<int64_t> seqs;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto e = log->Record(Event(t % 2 ? "SignAuthToken" : "SignOfflineQr",
                                   absl::StrCat("keys/k", t % 4), i));
        ASSERT_TRUE(e.ok()) << e.status();
        std::lock_guard<std::mutex> lock(mu);
        seqs.insert(e->seq);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), kThreads * kEach);
  log->Shutdown();  // final checkpoint
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  ASSERT_EQ(report.nodes.size(), 1u);
  EXPECT_EQ(report.nodes[0].events, kThreads * kEach);
  EXPECT_EQ(report.nodes[0].last_checkpoint_seq, kThreads * kEach);

  auto usage = store_->Usage("keys/k1", std::nullopt, std::nullopt).value();
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].operation, "SignAuthToken");
  EXPECT_EQ(usage[0].count, 2 * kEach * 4 / 5);  // threads 1 and 5; every 5th failed
}

TEST_F(AuditLogTest, RestartContinuesTheChain) {
  Write(*StartLog(store_.get()), 10);
  auto again = StartLog(store_.get());
  auto e = again->Record(Event("CreateKey", "keys/b", 1));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->seq, 11);
  again->Shutdown();
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLogTest, EditedEventIsFoundAtItsSeq) {
  Write(*StartLog(store_.get()), 20);
  ASSERT_TRUE(Verify().ok);
  Sql("UPDATE audit_events SET outcome='DENIED', message='edited' WHERE seq=10");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 10);
  EXPECT_THAT(report.problem, HasSubstr("modified"));
}

TEST_F(AuditLogTest, RehashedEditBreaksTheNextLink) {
  Write(*StartLog(store_.get()), 20);
  // An editor who also fixes the edited event's hash breaks the next link.
  Sql("UPDATE audit_events SET hash=zeroblob(32) WHERE seq=12");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 12);
}

TEST_F(AuditLogTest, DeletedEventIsFound) {
  Write(*StartLog(store_.get()), 20);
  Sql("DELETE FROM audit_events WHERE seq=7");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 7);
  EXPECT_THAT(report.problem, HasSubstr("missing"));
}

TEST_F(AuditLogTest, TruncatedTailIsFoundAgainstTheLastCheckpoint) {
  Write(*StartLog(store_.get()), 20);  // shutdown checkpoint at 20
  Sql("DELETE FROM audit_events WHERE seq>16");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 17);
  EXPECT_THAT(report.problem, HasSubstr("truncated"));
}

TEST_F(AuditLogTest, ForgedCheckpointIsFound) {
  Write(*StartLog(store_.get()), 5);
  Sql("UPDATE audit_checkpoints SET time_us=time_us+1");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.problem, HasSubstr("invalid signature"));
  // A checkpoint by another key is refused when the verifier knows the key.
  TestAuditKey other;
  auto store = SqliteAuditStore::Open(path_, true).value();
  Sql("UPDATE audit_checkpoints SET time_us=time_us-1");
  auto by_other = VerifyAuditChain(*store, other.spki()).value();
  EXPECT_FALSE(by_other.ok);
  EXPECT_THAT(by_other.problem, HasSubstr("another key"));
}

TEST_F(AuditLogTest, UnwritableStoreFailsClosedAndRecovers) {
  FlakyStore flaky(store_.get());
  auto log = StartLog(&flaky);
  ASSERT_TRUE(log->Record(Event("SignAuthToken", "keys/a", 1)).ok());
  flaky.fail = true;
  auto refused = log->Record(Event("SignAuthToken", "keys/a", 2));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("audit"));
  EXPECT_FALSE(log->healthy());
  flaky.fail = false;
  // The writer probes the store and turns healthy without new traffic.
  for (int i = 0; i < 100 && !log->healthy(); ++i) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(log->healthy());
  auto next = log->Record(Event("SignAuthToken", "keys/a", 3));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, 2);  // the refused event left no trace in the chain
  log->Shutdown();
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLogTest, QueryFiltersAndPages) {
  auto log = StartLog(store_.get());
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(log->Record(Event(i % 2 ? "CreateKey" : "SignAuthToken",
                                  i % 3 ? "keys/a" : "keys/b", i))
                    .ok());
  }
  AuditQuery q;
  q.key_name = "keys/b";
  q.limit = 4;
  auto page = store_->Query(q).value();
  EXPECT_EQ(page.events.size(), 4u);
  EXPECT_TRUE(page.more);
  q.after_id = page.ids.back();
  q.limit = 100;
  auto rest = store_->Query(q).value();
  EXPECT_EQ(rest.events.size(), 6u);  // 10 events of keys/b in all
  EXPECT_FALSE(rest.more);
  AuditQuery failed;
  failed.outcome = Outcome::kFailure;
  failed.caller = "svc-0";
  AuditPage failures = store_->Query(failed).value();
  for (const AuditEvent& e : failures.events) {
    EXPECT_EQ(e.outcome, Outcome::kFailure);
    EXPECT_EQ(e.caller.name, "svc-0");
  }
  EXPECT_EQ(failures.events.size(), 2u);  // i = 0, 15
}

}  // namespace
}  // namespace ksef::audit
