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
#include "audit/anchor.h"
#include "audit/testing/audit_test_util.h"
#include "audit/verifier.h"
#include "common/encoding.h"
#include "common/sqlite.h"

namespace ksef::audit {
namespace {

using ::testing::HasSubstr;

// Fault injection around the real store: Append/AddCheckpoint fail while set.
class FlakyStore : public AuditStore {
 public:
  explicit FlakyStore(AuditStore* inner) : inner_(inner) {}
  std::atomic<bool> fail{false};
  std::atomic<bool> fail_checkpoints{false};
  absl::StatusOr<ChainHead> Head(const std::string& n) override { return inner_->Head(n); }
  std::atomic<int> durable_appends{0};
  std::atomic<int> committed_appends{0};
  absl::Status Append(const std::vector<AuditEvent>& e, Durability d) override {
    if (fail) return absl::UnavailableError("disk full (injected)");
    (d == Durability::kDurable ? durable_appends : committed_appends)++;
    return inner_->Append(e, d);
  }
  absl::Status AddCheckpoint(const Checkpoint& c) override {
    if (fail || fail_checkpoints) return absl::UnavailableError("disk full (injected)");
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
  absl::Status AcquireNodeLease(const std::string& n, const std::string& h, absl::Time now,
                                absl::Time until,
                                const std::function<bool(const std::string&)>& dead) override {
    return inner_->AcquireNodeLease(n, h, now, until, dead);
  }
  absl::Status ReleaseNodeLease(const std::string& n, const std::string& h) override {
    return inner_->ReleaseNodeLease(n, h);
  }
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

  AuditLogOptions Options(const std::string& node = "node-a") {
    AuditLogOptions options;
    options.node = node;
    options.checkpoint_interval = absl::Hours(1);
    options.probe_interval = absl::Milliseconds(50);
    return options;
  }

  std::unique_ptr<AuditLog> StartLog(AuditStore* store, const std::string& node = "node-a") {
    auto log = AuditLog::Start(store, key_.signer(), Options(node));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  std::vector<int64_t> CheckpointSeqs(const std::string& node = "node-a") {
    std::vector<int64_t> seqs;
    absl::StatusOr<std::vector<Checkpoint>> checkpoints = store_->Checkpoints(node);
    EXPECT_TRUE(checkpoints.ok()) << checkpoints.status();
    if (!checkpoints.ok()) return seqs;
    for (const Checkpoint& cp : *checkpoints) seqs.push_back(cp.seq);
    return seqs;
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

// Events recorded as kCommitted (the reads of docs/security.md) are written
// in batches committed without a flush, unless a kDurable event shares the
// batch; the chain is one chain either way, and a restart continues it.
TEST_P(AuditLogTest, CommittedEventsJoinTheChainAndDurableOnesAreFlushed) {
  FlakyStore counting(store_.get());
  auto log = StartLog(&counting);
  const int durable_before = counting.durable_appends.load();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(log->Record(Event("GetKey", "keys/a", i), Durability::kCommitted).ok());
  }
  EXPECT_EQ(counting.committed_appends.load(), 5);  // one caller: one batch each
  EXPECT_EQ(counting.durable_appends.load(), durable_before);
  ASSERT_TRUE(log->Record(Event("SignAuthToken", "keys/a", 5)).ok());
  EXPECT_EQ(counting.durable_appends.load(), durable_before + 1);
  EXPECT_EQ(counting.committed_appends.load(), 5);
  log->Shutdown();
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  ASSERT_EQ(report.nodes.size(), 1u);
  EXPECT_EQ(report.nodes[0].events, 6);
  auto again = StartLog(store_.get());
  auto next = again->Record(Event("GetKey", "keys/a", 6), Durability::kCommitted);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->seq, 8);  // after the reopening event
  again->Shutdown();
  EXPECT_TRUE(Verify().ok);
}

TEST_P(AuditLogTest, RestartContinuesTheChain) {
  Write(*StartLog(store_.get()), 10);
  auto again = StartLog(store_.get());
  auto e = again->Record(Event("CreateKey", "keys/b", 1));
  ASSERT_TRUE(e.ok());
  // After the closing checkpoint at 10 the start recorded its reopening at
  // 11 and covered it, so the closing checkpoint is not the last one.
  EXPECT_EQ(e->seq, 12);
  EXPECT_EQ(store_->ReadChain("node-a", 10, 1).value().at(0).operation, "AuditLogReopened");
  EXPECT_THAT(CheckpointSeqs(), ::testing::ElementsAre(0, 10, 11));
  EXPECT_TRUE(Verify().ok);  // while running
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
  AuditEvent unrecorded;
  auto refused = log->Record(Event("SignAuthToken", "keys/a", 2), Durability::kDurable, &unrecorded);
  ASSERT_FALSE(refused.ok());
  // Handed back, so the caller can still count the attempt.
  EXPECT_EQ(unrecorded.operation, "SignAuthToken");
  EXPECT_EQ(unrecorded.key_name, "keys/a");
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
  absl::Status s = store_->Append(batch, Durability::kDurable);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_EQ(store_->Head("node-a").value().seq, 3);  // seq 4 was rolled back with it
  // The store still writes after the refusal.
  ASSERT_TRUE(store_->Append({fresh}, Durability::kDurable).ok());
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
  ASSERT_EQ(checkpoints.size(), 2u);  // the genesis at start-up, the closing one
  EXPECT_EQ(checkpoints[0].seq, 0);
  EXPECT_EQ(checkpoints[0].prev_hash, ZeroHash());
  EXPECT_FALSE(checkpoints[0].closing);
  const Checkpoint& last = checkpoints[1];
  EXPECT_EQ(last.seq, 5);
  EXPECT_EQ(last.version, 2);
  EXPECT_EQ(last.head_hash, written[4].hash);
  EXPECT_EQ(last.time, t0 + absl::Seconds(5));
  EXPECT_EQ(last.prev_hash, CheckpointDigest(checkpoints[0]));
  EXPECT_EQ(last.count, 5);
  EXPECT_TRUE(last.closing);
  EXPECT_EQ(last.public_key_der, key_.spki());
  EXPECT_EQ(last.signature.size(), 64u);
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

TEST_P(AuditLogTest, CheckpointsFollowEveryNEventsAndFormAChain) {
  AuditLogOptions options = Options();
  options.checkpoint_events = 10;
  auto log = AuditLog::Start(store_.get(), key_.signer(), options).value();
  Write(*log, 25);
  // The writer checkpoints a full budget before it takes the next event.
  EXPECT_THAT(CheckpointSeqs(), ::testing::ElementsAre(0, 10, 20));
  VerifyReport running = Verify();
  EXPECT_TRUE(running.ok) << running.problem;
  ASSERT_EQ(running.nodes.size(), 1u);
  EXPECT_EQ(running.nodes[0].unprotected, 5);
  log->Shutdown();
  EXPECT_THAT(CheckpointSeqs(), ::testing::ElementsAre(0, 10, 20, 25));
  VerifyReport done = Verify();
  EXPECT_TRUE(done.ok) << done.problem;
  EXPECT_EQ(done.nodes[0].unprotected, 0);
}

// What the metrics read: every commit with its event count, the events no
// checkpoint covers and the newest checkpoint's time.
TEST_P(AuditLogTest, StatsAndCommitsForMetrics) {
  AuditLogOptions options = Options();
  options.checkpoint_events = 10;
  std::atomic<int64_t> commits{0}, committed{0};
  options.on_commit = [&](size_t events, absl::Duration took) {
    ++commits;
    committed += static_cast<int64_t>(events);
    EXPECT_GE(took, absl::ZeroDuration());
  };
  auto log = AuditLog::Start(store_.get(), key_.signer(), options).value();
  AuditLogStats stats = log->Stats();
  EXPECT_TRUE(stats.healthy);
  EXPECT_EQ(stats.events_since_checkpoint, 0);
  ASSERT_TRUE(stats.last_checkpoint.has_value());  // the genesis checkpoint
  const absl::Time genesis = *stats.last_checkpoint;
  Write(*log, 13);
  stats = log->Stats();
  EXPECT_EQ(stats.events_since_checkpoint, 3);  // checkpoint at 10
  ASSERT_TRUE(stats.last_checkpoint.has_value());
  EXPECT_GE(*stats.last_checkpoint, genesis);
  EXPECT_EQ(committed.load(), 13);
  EXPECT_GE(commits.load(), 1);
  EXPECT_LE(commits.load(), 13);
  log->Shutdown();
  EXPECT_EQ(log->Stats().events_since_checkpoint, 0);
}

TEST_P(AuditLogTest, CheckpointFollowsTheIntervalWithoutNewEvents) {
  AuditLogOptions options = Options();
  options.checkpoint_interval = absl::Milliseconds(100);
  auto log = AuditLog::Start(store_.get(), key_.signer(), options).value();
  Write(*log, 3);
  for (int i = 0; i < 100 && CheckpointSeqs().back() != 3; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(CheckpointSeqs().back(), 3);
  // A slow store (PostgreSQL under TSan) may let the interval pass between the three writes, so
  // an extra checkpoint before seq 3 is allowed; after seq 3 nothing new is left to cover.
  const size_t covered = CheckpointSeqs().size();
  EXPECT_GE(covered, 2u);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(CheckpointSeqs().size(), covered);
}

TEST_P(AuditLogTest, DeletedCheckpointBreaksTheNextOne) {
  AuditLogOptions options = Options();
  options.checkpoint_events = 10;
  Write(*AuditLog::Start(store_.get(), key_.signer(), options).value(), 30);
  ASSERT_THAT(CheckpointSeqs(), ::testing::ElementsAre(0, 10, 20, 30));
  Sql("DELETE FROM audit_checkpoints WHERE seq=20");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 30);
  EXPECT_THAT(report.problem, HasSubstr("checkpoint at seq 30 does not link"));
}

TEST_P(AuditLogTest, DeletedGenesisAndEditedCountAreFound) {
  AuditLogOptions options = Options();
  options.checkpoint_events = 10;
  Write(*AuditLog::Start(store_.get(), key_.signer(), options).value(), 20);
  Sql("UPDATE audit_checkpoints SET count=count+1 WHERE seq=10");
  VerifyReport edited = Verify();
  EXPECT_FALSE(edited.ok);
  EXPECT_EQ(edited.bad_seq, 10);
  EXPECT_THAT(edited.problem, HasSubstr("checkpoint at seq 10 has an invalid signature"));
  Sql("UPDATE audit_checkpoints SET count=count-1 WHERE seq=10");
  ASSERT_TRUE(Verify().ok);
  Sql("DELETE FROM audit_checkpoints WHERE seq=0");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 10);
  EXPECT_THAT(report.problem, HasSubstr("checkpoints were deleted"));
}

TEST_P(AuditLogTest, EventsAfterTheClosingCheckpointAreFoundAndRefused) {
  Write(*StartLog(store_.get()), 5);
  // A forged event with a correctly computed hash, appended after shutdown.
  AuditEvent forged = store_->ReadChain("node-a", 4, 1).value().at(0);
  forged.prev_hash = forged.hash;
  forged.seq = 6;
  forged.message = "forged";
  forged.hash = EventHash(forged);
  ASSERT_TRUE(store_->Append({forged}, Durability::kDurable).ok());
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 6);
  EXPECT_THAT(report.problem, HasSubstr("closing checkpoint"));
  auto refused = AuditLog::Start(store_.get(), key_.signer(), Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("closing checkpoint"));
}

TEST_P(AuditLogTest, StartUpCheckpointCoversTheTailOfACrash) {
  FlakyStore flaky(store_.get());
  {
    auto log = StartLog(&flaky);
    flaky.fail_checkpoints = true;  // as if killed before any later checkpoint
    Write(*log, 7);
  }
  ASSERT_THAT(CheckpointSeqs(), ::testing::ElementsAre(0));
  VerifyReport before = Verify();
  ASSERT_TRUE(before.ok) << before.problem;
  EXPECT_EQ(before.nodes[0].unprotected, 7);
  auto log = StartLog(store_.get());
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(CheckpointSeqs(), ::testing::ElementsAre(0, 7));
  EXPECT_EQ(log->Record(Event("CreateKey", "keys/b", 1)).value().seq, 8);
}

TEST_P(AuditLogTest, RestartRefusesAChainCutBelowItsLastCheckpoint) {
  Write(*StartLog(store_.get()), 20);
  Sql("DELETE FROM audit_events WHERE seq>15");
  auto refused = AuditLog::Start(store_.get(), key_.signer(), Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("events 16..20 were removed"));
  // Cutting the checkpoint too is only visible to the anchor (anchor_test).
}

TEST_P(AuditLogTest, RunningLogFindsDeletedNewestRowsAtItsNextCheckpoint) {
  auto log = StartLog(store_.get());
  Write(*log, 20);
  ASSERT_TRUE(log->CheckpointNow().ok());
  Write(*log, 5);
  Sql("DELETE FROM audit_events WHERE seq>22");
  Write(*log, 2);  // written on top, unaware: 26 and 27
  absl::Status s = log->CheckpointNow();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("event 23 is missing"));
  EXPECT_FALSE(log->healthy());
  auto refused = log->Record(Event("SignAuthToken", "keys/a", 1));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->Head("node-a").value().seq, 27);  // nothing more on the cut chain
  EXPECT_THAT(CheckpointSeqs(), ::testing::ElementsAre(0, 20));
  absl::SleepFor(absl::Milliseconds(200));  // probes do not heal it
  EXPECT_FALSE(log->healthy());
  log->Shutdown();
  // Nor does a restart write on from it.
  auto restarted = AuditLog::Start(store_.get(), key_.signer(), Options());
  ASSERT_FALSE(restarted.ok());
  EXPECT_EQ(restarted.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restarted.status().message(), HasSubstr("event 23 is missing"));
}

TEST_P(AuditLogTest, CheckpointThatCannotBeSignedFailsClosedAndRecovers) {
  std::atomic<bool> fail_sign{false};
  CheckpointSigner inner = key_.signer();
  CheckpointSigner signer{inner.public_key_der,
                          [&](const std::string& digest) -> absl::StatusOr<std::string> {
                            if (fail_sign) return absl::UnavailableError("token removed (test)");
                            return inner.sign(digest);
                          }};
  AuditLogOptions options = Options();
  options.checkpoint_events = 5;
  auto log = AuditLog::Start(store_.get(), signer, options).value();
  fail_sign = true;
  Write(*log, 5);  // the budget: then a checkpoint is due and fails
  for (int i = 0; i < 100 && log->healthy(); ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_FALSE(log->healthy());
  auto refused = log->Record(Event("SignAuthToken", "keys/a", 6));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("checkpoint"));
  fail_sign = false;
  for (int i = 0; i < 100 && !log->healthy(); ++i) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(log->healthy());
  EXPECT_EQ(log->Record(Event("SignAuthToken", "keys/a", 7)).value().seq, 6);
  EXPECT_THAT(CheckpointSeqs(), ::testing::ElementsAre(0, 5));
  log->Shutdown();
  EXPECT_TRUE(Verify().ok);
}

TEST_P(AuditLogTest, ASecondLogForALiveNodeIsRefusedUntilTheLeaseIsFree) {
  auto first = StartLog(store_.get());
  ASSERT_NE(first, nullptr);
  auto second_store = harness_->Open();
  ASSERT_TRUE(second_store.ok()) << second_store.status();
  auto second = AuditLog::Start(second_store->get(), key_.signer(), Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("is in use by another live server"));
  EXPECT_TRUE(StartLog(second_store->get(), "node-b") != nullptr);  // another node id is fine
  first->Shutdown();                                                // releases the lease
  EXPECT_TRUE(AuditLog::Start(second_store->get(), key_.signer(), Options()).ok());
}

TEST_P(AuditLogTest, NodeLeaseExpiresAndIsTakenFromADeadHolder) {
  const absl::Time now = absl::Now();
  auto never_dead = [](const std::string&) { return false; };
  ASSERT_TRUE(
      store_->AcquireNodeLease("node-a", "host/1/A", now, now + absl::Seconds(30), never_dead)
          .ok());
  EXPECT_TRUE(
      store_->AcquireNodeLease("node-a", "host/1/A", now, now + absl::Seconds(30),
                               never_dead)
          .ok());  // renewal
  EXPECT_EQ(store_->AcquireNodeLease("node-a", "host/2/B", now, now + absl::Seconds(30), never_dead)
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_
                  ->AcquireNodeLease("node-a", "host/2/B", now + absl::Seconds(31),
                                     now + absl::Seconds(60), never_dead)
                  .ok());  // expired
  auto dead = [](const std::string& holder) { return holder == "host/2/B"; };
  EXPECT_TRUE(
      store_->AcquireNodeLease("node-a", "host/3/C", now, now + absl::Seconds(30), dead).ok());
  ASSERT_TRUE(store_->ReleaseNodeLease("node-a", "host/3/C").ok());
  EXPECT_TRUE(
      store_->AcquireNodeLease("node-a", "host/4/D", now, now + absl::Seconds(30), never_dead)
          .ok());
}

// Checkpoints written before they were chained (version 1) keep verifying,
// and the first chained one links to the last of them.
TEST_P(AuditLogTest, VersionOneCheckpointsKeepVerifying) {
  Write(*StartLog(store_.get()), 5);
  Sql("DELETE FROM audit_checkpoints");
  Checkpoint v1;
  v1.version = 1;
  v1.node = "node-a";
  v1.seq = 5;
  v1.head_hash = store_->Head("node-a").value().hash;
  v1.time = absl::FromUnixMicros(1'700'000'000'000'000);
  v1.public_key_der = key_.spki();
  v1.signature = key_.signer().sign(CheckpointDigest(v1)).value();
  ASSERT_TRUE(store_->AddCheckpoint(v1).ok());
  VerifyReport old = Verify();
  EXPECT_TRUE(old.ok) << old.problem;
  Write(*StartLog(store_.get()), 3);
  auto checkpoints = store_->Checkpoints("node-a").value();
  ASSERT_EQ(checkpoints.size(), 2u);
  EXPECT_EQ(checkpoints[0].version, 1);
  EXPECT_EQ(checkpoints[1].prev_hash, CheckpointDigest(v1));
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
}

// An audit.db from before chained checkpoints: read-only (a copy being
// verified) it reads as version 1; opened for writing it gains the columns,
// and the server's next checkpoint links to the old one.
int64_t PageSize(const std::string& path) {
  auto db = SqliteDb::Open(path, "check", /*read_only=*/true).value();
  Statement st(*db, "PRAGMA page_size");
  EXPECT_EQ(st.Step(), SQLITE_ROW);
  return st.Int(0);
}

// A new audit file has small pages (fewer bytes written per commit); one made
// before with SQLite's default keeps its pages and works on.
TEST(SqliteAuditStoreTest, NewFilesHaveSmallPagesAndOldFilesKeepTheirs) {
  const std::string dir = ksef::testing::MakeTempDir("ksef-audit-pages");
  {
    auto store = SqliteAuditStore::Open(dir + "/new.db").value();
    AuditEvent e = TestEvent("GetKey", "keys/a", 1);
    e.node = "n";
    e.seq = 1;
    e.prev_hash = std::string(32, '\0');
    e.hash = std::string(32, '\1');
    ASSERT_TRUE(store->Append({e}, Durability::kCommitted).ok());
  }
  EXPECT_EQ(PageSize(dir + "/new.db"), 1024);
  ASSERT_TRUE(SqliteDb::Open(dir + "/old.db", "old")->get() != nullptr);
  ASSERT_TRUE(SqliteDb::Open(dir + "/old.db", "old").value()->Exec("CREATE TABLE t (x);").ok());
  const int64_t old_size = PageSize(dir + "/old.db");
  ASSERT_NE(old_size, 1024);
  {
    auto store = SqliteAuditStore::Open(dir + "/old.db").value();
    EXPECT_TRUE(store->Head("n").ok());
  }
  EXPECT_EQ(PageSize(dir + "/old.db"), old_size);
  ksef::testing::RunCommand("rm -rf " + dir);
}

TEST(SqliteAuditStoreTest, EachWriteRunsAtItsDurabilityAndDurableOnesAreFull) {
  const std::string dir = ksef::testing::MakeTempDir("ksef-audit-sync");
  auto store = SqliteAuditStore::Open(dir + "/a.db").value();
  EXPECT_EQ(store->SynchronousLevel().value(), 2);  // FULL from the start
  std::string prev(32, '\0');
  auto append = [&](int seq, Durability durability) {
    AuditEvent e = TestEvent("GetKey", "keys/a", seq);
    e.node = "n";
    e.seq = seq;
    e.prev_hash = prev;
    e.hash = std::string(32, static_cast<char>(seq));
    prev = e.hash;
    return store->Append({e}, durability);
  };
  ASSERT_TRUE(append(1, Durability::kCommitted).ok());
  EXPECT_EQ(store->SynchronousLevel().value(), 1);  // NORMAL: no flush
  ASSERT_TRUE(append(2, Durability::kCommitted).ok());
  EXPECT_EQ(store->SynchronousLevel().value(), 1);
  ASSERT_TRUE(append(3, Durability::kDurable).ok());
  EXPECT_EQ(store->SynchronousLevel().value(), 2);  // FULL again for a durable batch
  ASSERT_TRUE(append(4, Durability::kCommitted).ok());
  Checkpoint cp;
  cp.node = "n";
  cp.seq = 4;
  cp.head_hash = prev;
  ASSERT_TRUE(store->AddCheckpoint(cp).ok());
  EXPECT_EQ(store->SynchronousLevel().value(), 2);  // checkpoints are always flushed
  ASSERT_TRUE(append(5, Durability::kCommitted).ok());
  ASSERT_TRUE(store->ReleaseNodeLease("n", "me").ok());
  EXPECT_EQ(store->SynchronousLevel().value(), 2);  // so are lease changes
  store.reset();
  ksef::testing::RunCommand("rm -rf " + dir);
}

TEST(SqliteAuditStoreTest, MigratesCheckpointsOfAnOlderFile) {
  SqliteHarness harness;
  TestAuditKey key;
  AuditLogOptions options;
  options.node = "node-a";
  {
    auto store = harness.Open().value();
    auto log = AuditLog::Start(store.get(), key.signer(), options).value();
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(log->Record(TestEvent("CreateKey", "keys/a", i)).ok());
  }
  Checkpoint v1;
  v1.version = 1;
  v1.node = "node-a";
  v1.seq = 4;
  v1.head_hash = harness.Open().value()->Head("node-a").value().hash;
  v1.time = absl::FromUnixMicros(1'700'000'000'000'000);
  v1.signature = key.signer().sign(CheckpointDigest(v1)).value();
  ASSERT_TRUE(
      harness
          .Sql(absl::StrCat("DELETE FROM audit_checkpoints;"
                            "ALTER TABLE audit_checkpoints DROP COLUMN version;"
                            "ALTER TABLE audit_checkpoints DROP COLUMN prev_hash;"
                            "ALTER TABLE audit_checkpoints DROP COLUMN count;"
                            "ALTER TABLE audit_checkpoints DROP COLUMN closing;"
                            "INSERT INTO audit_checkpoints VALUES ('node-a', 4, X'",
                            HexUpper(v1.head_hash), "', ", absl::ToUnixMicros(v1.time), ", X'",
                            HexUpper(v1.signature), "', X'", HexUpper(key.spki()), "')"))
          .ok());
  {
    auto copy = harness.OpenForVerify().value();
    auto checkpoints = copy->Checkpoints("node-a").value();
    ASSERT_EQ(checkpoints.size(), 1u);
    EXPECT_EQ(checkpoints[0].version, 1);
    auto report = VerifyAuditChain(*copy, key.spki()).value();
    EXPECT_TRUE(report.ok) << report.problem;
  }
  auto store = harness.Open().value();
  auto log = AuditLog::Start(store.get(), key.signer(), options).value();
  ASSERT_TRUE(log->Record(TestEvent("CreateKey", "keys/a", 5)).ok());
  log->Shutdown();
  auto checkpoints = store->Checkpoints("node-a").value();
  ASSERT_EQ(checkpoints.size(), 2u);
  EXPECT_EQ(checkpoints[1].prev_hash, CheckpointDigest(checkpoints[0]));
  auto report = VerifyAuditChain(*harness.OpenForVerify().value(), key.spki()).value();
  EXPECT_TRUE(report.ok) << report.problem;
}

INSTANTIATE_TEST_SUITE_P(
    Stores, AuditLogTest,
    ::testing::Values(StoreParam{"Sqlite",
                                 []() -> absl::StatusOr<std::unique_ptr<StoreHarness>> {
                                   return std::unique_ptr<StoreHarness>(new SqliteHarness());
                                 }},
                      StoreParam{"Postgres", [] { return PostgresHarness::Create(); }}),
    [](const ::testing::TestParamInfo<StoreParam>& info) { return info.param.name; });

// --- the anchor (audit/anchor.h): the tamperings of issue 12 -------------

// A sink that fails while `fail` is set.
class FlakyAnchor : public AnchorSink {
 public:
  explicit FlakyAnchor(AnchorSink* inner) : inner_(inner) {}
  std::atomic<bool> fail{false};
  absl::Status Append(const Checkpoint& cp) override {
    if (fail) return absl::UnavailableError("anchor disk full (injected)");
    return inner_->Append(cp);
  }

 private:
  AnchorSink* inner_;
};

// `events` renumbered from 1 under `node` with every hash recomputed, as an
// attacker who rewrites a chain would.
std::vector<AuditEvent> Rechain(std::vector<AuditEvent> events, const std::string& node) {
  std::string prev = ZeroHash();
  for (size_t i = 0; i < events.size(); ++i) {
    events[i].node = node;
    events[i].seq = static_cast<int64_t>(i) + 1;
    events[i].prev_hash = prev;
    events[i].hash = EventHash(events[i]);
    prev = events[i].hash;
  }
  return events;
}

class AnchoredAuditLogTest : public AuditLogTest {
 protected:
  void SetUp() override {
    AuditLogTest::SetUp();
    dir_ = ksef::testing::MakeTempDir("ksef-anchor");
    anchor_path_ = dir_ + "/audit-anchor.log";
    auto anchor = FileAnchor::Open(anchor_path_);
    ASSERT_TRUE(anchor.ok()) << anchor.status();
    anchor_ = std::move(*anchor);
  }
  void TearDown() override {
    AuditLogTest::TearDown();
    ksef::testing::RunCommand("rm -rf " + dir_);
  }

  AuditLogOptions AnchoredOptions() {
    AuditLogOptions options = Options();
    options.checkpoint_events = 10;
    options.anchors = {anchor_.get()};
    return options;
  }

  // 25 events (signing and key management), checkpoints at 0, 10, 20 and
  // the closing one at 25, all anchored.
  void WriteHistory() {
    auto log = AuditLog::Start(store_.get(), key_.signer(), AnchoredOptions()).value();
    for (int i = 0; i < 25; ++i) {
      ASSERT_TRUE(log->Record(Event(i % 5 == 1 ? "CreateKey" : "SignAuthToken", "keys/a", i)).ok());
    }
    log->Shutdown();
    ASSERT_THAT(CheckpointSeqs(), ::testing::ElementsAre(0, 10, 20, 25));
  }

  std::vector<AnchorRecord> Anchor() {
    auto records = ReadAnchorFile(anchor_path_);
    EXPECT_TRUE(records.ok()) << records.status();
    return records.ok() ? *records : std::vector<AnchorRecord>{};
  }

  // Offline verification as `ksef-hsm audit verify --db COPY --anchor FILE`
  // runs it: the anchor, and no --public-key.
  VerifyReport VerifyWithAnchor(const std::string& trusted_key = "") {
    auto store = OpenForVerify();
    if (store == nullptr) return VerifyReport{.ok = false, .problem = "cannot open"};
    VerifyOptions options;
    options.trusted_public_key_der = trusted_key;
    options.anchor = Anchor();
    auto report = VerifyAuditChain(*store, options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : VerifyReport{.ok = false, .problem = "cannot verify"};
  }

  std::vector<AuditEvent> Chain(const std::string& node = "node-a") {
    return store_->ReadChain(node, 0, 1000).value();
  }

  std::string dir_, anchor_path_;
  std::unique_ptr<FileAnchor> anchor_;
};

TEST_P(AnchoredAuditLogTest, UntamperedStoreVerifiesAgainstItsAnchor) {
  WriteHistory();
  EXPECT_EQ(Anchor().size(), 4u);
  VerifyReport report = VerifyWithAnchor();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_TRUE(report.signatures_pinned);
  EXPECT_TRUE(report.anchor_checked);
  ASSERT_EQ(report.nodes.size(), 1u);
  EXPECT_EQ(report.nodes[0].anchored_checkpoints, 4);
  EXPECT_EQ(report.nodes[0].last_anchored_seq, 25);
  EXPECT_EQ(report.nodes[0].unprotected, 0);
  EXPECT_TRUE(VerifyWithAnchor(key_.spki()).ok);
}

TEST_P(AnchoredAuditLogTest, CutTailAndItsCheckpointAreMissingFromTheAnchor) {
  WriteHistory();
  Sql("DELETE FROM audit_events WHERE seq>20; DELETE FROM audit_checkpoints WHERE seq>20");
  EXPECT_TRUE(Verify().ok);  // without the anchor this passes
  VerifyReport report = VerifyWithAnchor();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 25);
  EXPECT_THAT(report.problem, HasSubstr("anchored checkpoint at seq 25"));
  EXPECT_THAT(report.problem, HasSubstr("missing from the database"));
}

TEST_P(AnchoredAuditLogTest, CutBelowACheckpointWithItsRowDeletedIsFound) {
  WriteHistory();
  Sql("DELETE FROM audit_events WHERE seq>15; DELETE FROM audit_checkpoints WHERE seq>=20");
  VerifyReport report = VerifyWithAnchor();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 20);
  EXPECT_THAT(report.problem, HasSubstr("missing from the database"));
  // The server refuses to write on from it.
  AuditLogOptions options = AnchoredOptions();
  options.last_anchored = Anchor().back().checkpoint;
  auto refused = AuditLog::Start(store_.get(), key_.signer(), options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("last anchored checkpoint (seq 25"));
}

TEST_P(AnchoredAuditLogTest, ForgedAppendedRowIsFound) {
  WriteHistory();
  std::vector<AuditEvent> chain = Chain();
  AuditEvent forged = chain.back();
  forged.seq = 26;
  forged.prev_hash = forged.hash;
  forged.message = "forged";
  forged.hash = EventHash(forged);
  ASSERT_TRUE(store_->Append({forged}, Durability::kDurable).ok());
  VerifyReport report = VerifyWithAnchor();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 26);
  EXPECT_THAT(report.problem, HasSubstr("closing checkpoint"));
}

TEST_P(AnchoredAuditLogTest, RewrittenChainWithoutCheckpointsIsFound) {
  WriteHistory();
  std::vector<AuditEvent> chain = Chain();
  chain[4].outcome = Outcome::kDenied;  // edit one, rehash all, drop the checkpoints
  Sql("DELETE FROM audit_events; DELETE FROM audit_checkpoints");
  ASSERT_TRUE(store_->Append(Rechain(chain, "node-a"), Durability::kDurable).ok());
  EXPECT_TRUE(Verify().ok);  // without the anchor this passes
  VerifyReport report = VerifyWithAnchor();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_node, "node-a");
  EXPECT_EQ(report.bad_seq, 0);
  EXPECT_THAT(report.problem, HasSubstr("anchored checkpoint at seq 0"));
}

TEST_P(AnchoredAuditLogTest, DeletedSigningEventsRenumberedAndRehashedAreFound) {
  WriteHistory();
  std::vector<AuditEvent> kept;
  for (const AuditEvent& e : Chain()) {
    if (e.operation != "SignAuthToken") kept.push_back(e);
  }
  ASSERT_EQ(kept.size(), 5u);  // the 20 signing events are gone
  Sql("DELETE FROM audit_events; DELETE FROM audit_checkpoints");
  ASSERT_TRUE(store_->Append(Rechain(kept, "node-a"), Durability::kDurable).ok());
  VerifyReport report = VerifyWithAnchor();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 0);
  EXPECT_THAT(report.problem, HasSubstr("missing from the database"));
}

TEST_P(AnchoredAuditLogTest, FabricatedNodeWithoutAnchoredCheckpointIsFound) {
  WriteHistory();
  std::vector<AuditEvent> fake;
  for (int i = 0; i < 25; ++i) fake.push_back(Event("SignAuthToken", "keys/a", i));
  for (AuditEvent& e : fake) e.time = absl::Now();
  ASSERT_TRUE(store_->Append(Rechain(fake, "node-fake"), Durability::kDurable).ok());
  EXPECT_TRUE(Verify().ok);  // without the anchor this passes
  VerifyReport report = VerifyWithAnchor();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_node, "node-fake");
  EXPECT_THAT(report.problem, HasSubstr("no anchored checkpoint"));
  // A server verifying with its own anchor only (replicas keep theirs) does
  // not flag other nodes: the offline verify with every anchor does.
  auto store = OpenForVerify();
  ASSERT_NE(store, nullptr);
  VerifyOptions own;
  own.anchor = Anchor();
  own.anchor_node = "node-a";
  VerifyReport server_side = VerifyAuditChain(*store, own).value();
  EXPECT_TRUE(server_side.ok) << server_side.problem;
}

TEST_P(AnchoredAuditLogTest, DeletingEverythingIsFound) {
  WriteHistory();
  Sql("DELETE FROM audit_events; DELETE FROM audit_checkpoints");
  EXPECT_TRUE(Verify().ok);  // without the anchor this passes
  VerifyReport report = VerifyWithAnchor();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_node, "node-a");
  EXPECT_EQ(report.bad_seq, 0);
}

TEST_P(AnchoredAuditLogTest, CheckpointsReSignedWithAnotherKeyAreFound) {
  WriteHistory();
  TestAuditKey other;
  auto checkpoints = store_->Checkpoints("node-a").value();
  for (Checkpoint cp : checkpoints) {
    cp.public_key_der = other.spki();
    cp.signature = other.signer().sign(CheckpointDigest(cp)).value();
    ASSERT_TRUE(store_->AddCheckpoint(cp).ok());
  }
  auto store = OpenForVerify();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(VerifyAuditChain(*store, std::string()).value().ok);  // unpinned: passes
  VerifyReport report = VerifyWithAnchor();                         // the anchor pins the key
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_seq, 0);
  EXPECT_THAT(report.problem, HasSubstr("another key"));
}

TEST_P(AnchoredAuditLogTest, CrashTailIsReportedAsUnprotected) {
  FlakyStore flaky(store_.get());
  {
    auto log = AuditLog::Start(&flaky, key_.signer(), AnchoredOptions()).value();
    Write(*log, 17);
    flaky.fail_checkpoints = true;  // as if killed: no closing checkpoint
  }
  VerifyReport report = VerifyWithAnchor();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.nodes[0].last_anchored_seq, 10);
  EXPECT_EQ(report.nodes[0].unprotected, 7);
  // The next start covers the tail and anchors it.
  AuditLogOptions options = AnchoredOptions();
  options.last_anchored = Anchor().back().checkpoint;
  auto log = AuditLog::Start(store_.get(), key_.signer(), options).value();
  EXPECT_EQ(Anchor().back().checkpoint.seq, 17);
  EXPECT_EQ(VerifyWithAnchor().nodes[0].unprotected, 0);
}

TEST_P(AnchoredAuditLogTest, FailedAnchorWriteFailsTheCheckpointAndRecovers) {
  FlakyAnchor flaky(anchor_.get());
  AuditLogOptions options = AnchoredOptions();
  options.anchors = {&flaky};
  auto log = AuditLog::Start(store_.get(), key_.signer(), options).value();
  flaky.fail = true;
  Write(*log, 3);
  absl::Status s = log->CheckpointNow();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("cannot be anchored"));
  EXPECT_FALSE(log->healthy());
  flaky.fail = false;
  for (int i = 0; i < 100 && !log->healthy(); ++i) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(log->healthy());
  EXPECT_EQ(Anchor().back().checkpoint.seq, 3);  // anchored on recovery
  log->Shutdown();
  EXPECT_TRUE(VerifyWithAnchor().ok);
}

TEST_P(AnchoredAuditLogTest, ACheckpointStoredButNotAnchoredIsAnchoredAtTheNextStart) {
  FlakyAnchor flaky(anchor_.get());
  AuditLogOptions options = AnchoredOptions();
  options.anchors = {&flaky};
  {
    auto log = AuditLog::Start(store_.get(), key_.signer(), options).value();
    Write(*log, 4);
    flaky.fail = true;  // stored, then the anchor fails: as if killed in between
    EXPECT_FALSE(log->CheckpointNow().ok());
  }
  ASSERT_EQ(CheckpointSeqs().back(), 4);
  ASSERT_EQ(Anchor().back().checkpoint.seq, 0);
  AuditLogOptions restart = AnchoredOptions();
  restart.last_anchored = Anchor().back().checkpoint;
  auto log = AuditLog::Start(store_.get(), key_.signer(), restart).value();
  EXPECT_EQ(Anchor().back().checkpoint.seq, 4);
  EXPECT_TRUE(log->healthy());
  EXPECT_EQ(VerifyWithAnchor().nodes.at(0).unprotected, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Stores, AnchoredAuditLogTest,
    ::testing::Values(StoreParam{"Sqlite",
                                 []() -> absl::StatusOr<std::unique_ptr<StoreHarness>> {
                                   return std::unique_ptr<StoreHarness>(new SqliteHarness());
                                 }},
                      StoreParam{"Postgres", [] { return PostgresHarness::Create(); }}),
    [](const ::testing::TestParamInfo<StoreParam>& info) { return info.param.name; });

}  // namespace
}  // namespace ksef::audit
