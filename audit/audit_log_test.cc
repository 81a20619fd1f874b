// The audit log on every real store: SQLite in a temp file and PostgreSQL in
// a fresh database on the KSEF_TEST_PG server (scripts/test.sh starts one).
// Concurrent group-committed writes form one verified chain; edits,
// deletions and truncation are found at the right event; a store that cannot
// write makes Record fail closed and recovers.
#include "audit/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/audit_test_util.h"
#include "audit/verifier.h"

namespace ksef::audit {
namespace {

using ::testing::HasSubstr;

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
  absl::StatusOr<std::vector<UsageCount>> Usage(const std::string& k, std::optional<absl::Time> s,
                                                std::optional<absl::Time> u) override {
    return inner_->Usage(k, s, u);
  }

 private:
  AuditStore* inner_;
};

AuditEvent Event(const std::string& op, const std::string& key, int i) {
  return TestEvent(op, key, i);
}

struct StoreParam {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<StoreHarness>>()> make;
};

class AuditLogTest : public ::testing::TestWithParam<StoreParam> {
 protected:
  void SetUp() override {
    auto harness = GetParam().make();
    ASSERT_TRUE(harness.ok()) << GetParam().name << " store: " << harness.status();
    harness_ = std::move(*harness);
    auto store = harness_->Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    harness_.reset();
  }

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

  std::unique_ptr<AuditStore> OpenForVerify() {
    auto store = harness_->OpenForVerify();
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  VerifyReport Verify() {
    auto store = OpenForVerify();
    if (store == nullptr) return VerifyReport{.ok = false, .problem = "cannot open"};
    auto report = VerifyAuditChain(*store, key_.spki());
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : VerifyReport{.ok = false, .problem = "cannot verify"};
  }

  void Sql(const std::string& sql) {
    absl::Status s = harness_->Sql(sql);
    ASSERT_TRUE(s.ok()) << sql << ": " << s;
  }

  TestAuditKey key_;
  std::unique_ptr<StoreHarness> harness_;
  std::unique_ptr<AuditStore> store_;
};

TEST_P(AuditLogTest, ConcurrentRecordsFormOneVerifiedChain) {
  auto log = StartLog(store_.get());
  constexpr int kThreads = 8, kEach = 250;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<int64_t> seqs;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto e = log->Record(
            Event(t % 2 ? "SignAuthToken" : "SignOfflineQr", absl::StrCat("keys/k", t % 4), i));
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

TEST_P(AuditLogTest, RestartContinuesTheChain) {
  Write(*StartLog(store_.get()), 10);
  auto again = StartLog(store_.get());
  auto e = again->Record(Event("CreateKey", "keys/b", 1));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->seq, 11);
  again->Shutdown();
  EXPECT_TRUE(Verify().ok);
}

TEST_P(AuditLogTest, EditedEventIsFoundAtItsSeq) {
  Write(*StartLog(store_.get()), 20);
  ASSERT_TRUE(Verify().ok);
  Sql("UPDATE audit_events SET outcome='DENIED', message='edited' WHERE seq=10");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 10);
  EXPECT_THAT(report.problem, HasSubstr("modified"));
}

TEST_P(AuditLogTest, RehashedEditBreaksTheNextLink) {
  Write(*StartLog(store_.get()), 20);
  // An editor who also fixes the edited event's hash breaks the next link.
  Sql(absl::StrCat("UPDATE audit_events SET hash=", harness_->ZeroHashSql(), " WHERE seq=12"));
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 12);
}

TEST_P(AuditLogTest, DeletedEventIsFound) {
  Write(*StartLog(store_.get()), 20);
  Sql("DELETE FROM audit_events WHERE seq=7");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 7);
  EXPECT_THAT(report.problem, HasSubstr("missing"));
}

TEST_P(AuditLogTest, TruncatedTailIsFoundAgainstTheLastCheckpoint) {
  Write(*StartLog(store_.get()), 20);  // shutdown checkpoint at 20
  Sql("DELETE FROM audit_events WHERE seq>16");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 17);
  EXPECT_THAT(report.problem, HasSubstr("truncated"));
}

TEST_P(AuditLogTest, ForgedCheckpointIsFound) {
  Write(*StartLog(store_.get()), 5);
  Sql("UPDATE audit_checkpoints SET time_us=time_us+1");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.problem, HasSubstr("invalid signature"));
  // A checkpoint by another key is refused when the verifier knows the key.
  TestAuditKey other;
  auto store = OpenForVerify();
  ASSERT_NE(store, nullptr);
  Sql("UPDATE audit_checkpoints SET time_us=time_us-1");
  auto by_other = VerifyAuditChain(*store, other.spki()).value();
  EXPECT_FALSE(by_other.ok);
  EXPECT_THAT(by_other.problem, HasSubstr("another key"));
}

TEST_P(AuditLogTest, UnwritableStoreFailsClosedAndRecovers) {
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

TEST_P(AuditLogTest, QueryFiltersAndPages) {
  auto log = StartLog(store_.get());
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(
        log->Record(Event(i % 2 ? "CreateKey" : "SignAuthToken", i % 3 ? "keys/a" : "keys/b", i))
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

TEST_P(AuditLogTest, TakenSeqIsAlreadyExistsAndTheBatchIsAllOrNothing) {
  Write(*StartLog(store_.get()), 3);
  auto chain = store_->ReadChain("node-a", 0, 10).value();
  ASSERT_EQ(chain.size(), 3u);
  AuditEvent fresh = chain[2];
  fresh.seq = 4;
  std::vector<AuditEvent> batch = {fresh, chain[1]};  // seq 4 is free, seq 2 is taken
  absl::Status s = store_->Append(batch);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_EQ(store_->Head("node-a").value().seq, 3);  // seq 4 was rolled back with it
  ASSERT_TRUE(store_->Append({fresh}).ok());         // the store still writes after the refusal
  EXPECT_EQ(store_->Head("node-a").value().seq, 4);
}

TEST_P(AuditLogTest, EmptyStoreHasZeroHeadAndNoNodes) {
  ChainHead head = store_->Head("node-a").value();
  EXPECT_EQ(head.seq, 0);
  EXPECT_EQ(head.hash, std::string(32, '\0'));
  EXPECT_TRUE(store_->Nodes().value().empty());
  EXPECT_TRUE(store_->Checkpoints("node-a").value().empty());
  EXPECT_TRUE(store_->ReadChain("node-a", 0, 10).value().empty());
  AuditPage page = store_->Query(AuditQuery{}).value();
  EXPECT_TRUE(page.events.empty());
  EXPECT_FALSE(page.more);
  EXPECT_TRUE(store_->Usage("", std::nullopt, std::nullopt).value().empty());
}

TEST_P(AuditLogTest, StoreKeepsEveryFieldAndTimeFiltersApply) {
  const absl::Time t0 = absl::FromUnixMicros(1'700'000'000'123'456);
  AuditLogOptions options;
  options.node = "node-a";
  options.checkpoint_interval = absl::Hours(1);
  std::atomic<int> tick{0};
  options.clock = [&tick, t0] { return t0 + absl::Seconds(tick.load()); };
  auto log = AuditLog::Start(store_.get(), key_.signer(), options).value();
  AuditEvent e = Event("SignOfflineQr", "keys/q", 1);
  e.caller.issuer = "CN=Test CA,O=Zażółć gęślą jaźń";
  e.caller.serial = "0A1B";
  e.key_public_hash = std::string(64, 'F');
  e.context = "Nip:5265877635";
  e.message = "it's a \"quoted\" message; DROP TABLE audit_events; --";
  std::vector<AuditEvent> written;
  for (tick = 0; tick < 5; ++tick) {
    auto w = log->Record(e);
    ASSERT_TRUE(w.ok()) << w.status();
    written.push_back(*w);
  }
  log->Shutdown();
  auto chain = store_->ReadChain("node-a", 1, 2).value();
  ASSERT_EQ(chain.size(), 2u);
  const AuditEvent& r = chain[0];
  const AuditEvent& w = written[1];
  EXPECT_EQ(r.seq, 2);
  EXPECT_EQ(r.node, w.node);
  EXPECT_EQ(r.time, w.time);
  EXPECT_EQ(r.prev_hash, w.prev_hash);
  EXPECT_EQ(r.hash, w.hash);
  EXPECT_EQ(r.caller.subject, w.caller.subject);
  EXPECT_EQ(r.caller.issuer, w.caller.issuer);
  EXPECT_EQ(r.caller.serial, w.caller.serial);
  EXPECT_EQ(r.caller.name, w.caller.name);
  EXPECT_EQ(r.operation, w.operation);
  EXPECT_EQ(r.key_name, w.key_name);
  EXPECT_EQ(r.key_public_hash, w.key_public_hash);
  EXPECT_EQ(r.subject, w.subject);
  EXPECT_EQ(r.context, w.context);
  EXPECT_EQ(r.signed_sha256, w.signed_sha256);
  EXPECT_EQ(r.outcome, w.outcome);
  EXPECT_EQ(r.status_code, w.status_code);
  EXPECT_EQ(r.message, w.message);
  EXPECT_EQ(EventHash(r), r.hash);

  AuditQuery q;
  q.since = t0 + absl::Seconds(1);
  q.until = t0 + absl::Seconds(3);
  AuditPage page = store_->Query(q).value();
  ASSERT_EQ(page.events.size(), 2u);
  EXPECT_EQ(page.events[0].seq, 2);
  EXPECT_EQ(page.events[1].seq, 3);
  EXPECT_LT(page.ids[0], page.ids[1]);
  auto usage = store_->Usage("", t0 + absl::Seconds(1), std::nullopt).value();
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].key_name, "keys/q");
  EXPECT_EQ(usage[0].count, 4);
  auto checkpoints = store_->Checkpoints("node-a").value();
  ASSERT_EQ(checkpoints.size(), 1u);
  EXPECT_EQ(checkpoints[0].seq, 5);
  EXPECT_EQ(checkpoints[0].head_hash, written[4].hash);
  EXPECT_EQ(checkpoints[0].public_key_der, key_.spki());
  EXPECT_EQ(checkpoints[0].signature.size(), 64u);
}

// Two replicas (their own node ids, their own store connections) write to
// one store at the same time: both chains verify and no event is lost.
TEST_P(AuditLogTest, TwoReplicasWriteOneStore) {
  auto store_b = harness_->Open();
  ASSERT_TRUE(store_b.ok()) << store_b.status();
  auto log_a = StartLog(store_.get(), "node-a");
  auto log_b = StartLog(store_b->get(), "node-b");
  ASSERT_NE(log_a, nullptr);
  ASSERT_NE(log_b, nullptr);
  constexpr int kThreadsPerReplica = 4, kEach = 300;
  std::atomic<int> recorded{0}, refused{0};
  std::vector<std::thread> threads;
  for (AuditLog* log : {log_a.get(), log_b.get()}) {
    for (int t = 0; t < kThreadsPerReplica; ++t) {
      threads.emplace_back([&, log, t] {
        for (int i = 0; i < kEach; ++i) {
          auto e = log->Record(Event("SignAuthToken", absl::StrCat("keys/k", t), i));
          (e.ok() ? recorded : refused)++;
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  log_a->Shutdown();
  log_b->Shutdown();
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(recorded.load(), 2 * kThreadsPerReplica * kEach);

  VerifyReport report = Verify();  // over a fresh connection
  EXPECT_TRUE(report.ok) << report.bad_node << " " << report.bad_seq << ": " << report.problem;
  ASSERT_EQ(report.nodes.size(), 2u);
  EXPECT_EQ(report.nodes[0].node, "node-a");
  EXPECT_EQ(report.nodes[1].node, "node-b");
  int64_t total = 0;
  for (const NodeReport& n : report.nodes) {
    total += n.events;
    EXPECT_EQ(n.events, kThreadsPerReplica * kEach) << n.node;
    EXPECT_EQ(n.last_checkpoint_seq, n.last_seq) << n.node;
  }
  EXPECT_EQ(total, recorded.load());

  // Paging through everything by store-wide id sees every event once.
  std::set<std::pair<std::string, int64_t>> seen;
  AuditQuery q;
  q.limit = 333;
  int64_t last_id = 0;
  while (true) {
    AuditPage page = store_->Query(q).value();
    for (size_t i = 0; i < page.events.size(); ++i) {
      EXPECT_GT(page.ids[i], last_id);
      last_id = page.ids[i];
      EXPECT_TRUE(seen.emplace(page.events[i].node, page.events[i].seq).second);
    }
    if (!page.more) break;
    q.after_id = page.ids.back();
  }
  EXPECT_EQ(static_cast<int64_t>(seen.size()), total);
}

INSTANTIATE_TEST_SUITE_P(
    Stores, AuditLogTest,
    ::testing::Values(StoreParam{"Sqlite",
                                 []() -> absl::StatusOr<std::unique_ptr<StoreHarness>> {
                                   return std::unique_ptr<StoreHarness>(new SqliteHarness());
                                 }},
                      StoreParam{"Postgres", [] { return PostgresHarness::Create(); }}),
    [](const ::testing::TestParamInfo<StoreParam>& info) { return info.param.name; });

}  // namespace
}  // namespace ksef::audit
