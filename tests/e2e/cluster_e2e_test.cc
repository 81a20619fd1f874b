// Scale-out (issue 14), end to end: three ksef-hsmd replicas (each its own
// node_id, state_dir and port) on ONE SoftHSM2 token directory and ONE
// PostgreSQL database, used as both the audit store and the key registry,
// behind a real HAProxy in TCP mode; callers connect through the balancer
// with mutual TLS (passed through to the replicas), and to each replica
// directly where a test needs to know which one answers.
//
// What a bank needs from it: a key made anywhere is the same key everywhere
// at once, a usage limit holds across replicas, replicas started together
// agree on one audit key, a replica killed under load costs only its
// in-flight calls and leaves a complete audit trail, and a RestoreKey never
// loses to another replica's destruction sweep.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/e2e/cluster_fixture.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/haproxy.h"
#include "tests/support/postgres_test_db.h"

namespace ksef {
namespace {

using ::ksef::testing::FreeLoopbackPort;
using ::ksef::testing::HaProxyOptions;
using ::ksef::testing::TestHaProxy;
using ::ksef::testing::TestPostgresDb;

using ClusterE2eTest = ClusterFixture;

// (a) A key created through the balancer is usable from every replica at
// once; disable, schedule destruction and restore take effect on every
// replica on its next call.
TEST_F(ClusterE2eTest, KeyMadeThroughTheBalancerIsTheSameKeyOnEveryReplica) {
  StartClusterWithKey("shared-a");
  if (HasFatalFailure()) return;
  const std::string name = "keys/shared-a";
  std::vector<Caller> direct;
  for (const Replica& r : replicas_) direct.push_back(Direct(r));

  // Every replica signs with it, all at the same time.
  std::vector<grpc::Status> signed_by(kReplicas);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kReplicas; ++i) {
      threads.emplace_back([&, i] { signed_by[i] = SignInvoice(direct[i], name, i); });
    }
    for (std::thread& t : threads) t.join();
  }
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(signed_by[i].ok()) << replicas_[i].name << ": " << signed_by[i].error_message();
  }

  // Each transition through the balancer (a fresh connection each), then the
  // next call on every replica.
  const auto step = [&](auto method, pb::KeyState state, grpc::StatusCode sign_code,
                        const std::string& what) {
    {
      Caller lb = ViaBalancer();
      grpc::Status s = Transition(lb, method, name);
      ASSERT_TRUE(s.ok()) << what << ": " << s.error_message();
    }
    for (int i = 0; i < kReplicas; ++i) {
      pb::Key key;
      grpc::Status s = GetKey(direct[i], name, &key);
      ASSERT_TRUE(s.ok()) << what << ", " << replicas_[i].name << ": " << s.error_message();
      EXPECT_EQ(key.state(), state) << what << ", " << replicas_[i].name;
      EXPECT_EQ(SignInvoice(direct[i], name, 100 + i).error_code(), sign_code)
          << what << ", " << replicas_[i].name;
    }
  };
  using Stub = pb::KeyService::Stub;
  constexpr auto kRefused = grpc::StatusCode::FAILED_PRECONDITION;
  step(&Stub::DisableKey, pb::DISABLED, kRefused, "disabled");
  step(&Stub::EnableKey, pb::ACTIVE, grpc::StatusCode::OK, "enabled");
  step(&Stub::ScheduleKeyDestruction, pb::SCHEDULED_FOR_DESTRUCTION, kRefused, "scheduled");
  step(&Stub::RestoreKey, pb::DISABLED, kRefused, "restored (comes back disabled)");
  step(&Stub::EnableKey, pb::ACTIVE, grpc::StatusCode::OK, "enabled again");
}

// (b) A usage limit of 500, three replicas signing KOD II as fast as they
// can through the balancer: exactly 500 succeed, every other call is
// FAILED_PRECONDITION.
TEST_F(ClusterE2eTest, UsageLimitHoldsExactlyAcrossReplicas) {
  StartClusterWithKey("limited");
  if (HasFatalFailure()) return;
  constexpr int kLimit = 500;
  constexpr int kCallers = 12;
  const std::string name = "keys/limited";
  {
    Caller lb = ViaBalancer();
    // The limit counts every signature of the key: the CSR was its first.
    pb::SetKeyUsageLimitRequest limit;
    limit.set_name(name);
    limit.set_usage_limit(kLimit + 1);
    pb::Key key;
    ASSERT_TRUE(Call([&](auto* ctx) { return lb.keys->SetKeyUsageLimit(ctx, limit, &key); }).ok());
  }
  std::atomic<int> ok{0}, refused{0}, other{0}, next_invoice{0};
  std::mutex mu;
  std::string other_example;
  std::vector<std::thread> callers;
  const absl::Time started = absl::Now();
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&] {
      Caller lb = ViaBalancer();
      // Each caller goes on until the limit has refused it three times.
      for (int refusals = 0; refusals < 3;) {
        grpc::Status s = SignInvoice(lb, name, next_invoice++);
        if (s.ok()) {
          ++ok;
        } else if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
          ++refused;
          ++refusals;
        } else {
          ++other;
          ++refusals;
          std::lock_guard<std::mutex> lock(mu);
          other_example = absl::StrCat(s.error_code(), ": ", s.error_message());
        }
      }
    });
  }
  for (std::thread& t : callers) t.join();
  const absl::Duration took = absl::Now() - started;
  std::cout << "[ cluster  ] " << ok << " signed, " << refused << " refused by the limit in "
            << absl::FormatDuration(took) << " (" << kCallers << " callers, " << kReplicas
            << " replicas)\n";
  EXPECT_EQ(ok.load(), kLimit);
  EXPECT_GE(refused.load(), kCallers);
  EXPECT_EQ(other.load(), 0) << other_example;

  // The signatures were spread over the replicas (audit events by node).
  Caller lb = ViaBalancer();
  std::map<std::string, int> by_node;
  for (const pb::AuditEvent& e : Events(lb, "SignOfflineInvoice")) {
    if (e.key_name() == name && e.outcome() == pb::SUCCESS) by_node[e.node()] += e.count();
  }
  int audited = 0;
  for (const auto& [node, count] : by_node) audited += count;
  EXPECT_EQ(audited, kLimit);
  EXPECT_EQ(by_node.size(), static_cast<size_t>(kReplicas));
}

// (c) Three replicas started at the same moment on a fresh token, ten
// times (fresh token and database each round): every start succeeds and
// the token holds exactly one audit key.
TEST_F(ClusterE2eTest, ReplicasStartedAtOnceAgreeOnOneAuditKey) {
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    auto token = TestToken::Create(absl::StrCat("cluster-", round));
    ASSERT_TRUE(token.ok()) << token.status();
    auto db = TestPostgresDb::Create("ksef_cluster");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    state_prefix_ = absl::StrCat("state-round", round);
    MakeReplicas(**token, "");
    if (HasFatalFailure()) return;
    std::vector<absl::Status> started = StartAllAtOnce(absl::StrCat("-round", round));
    for (int i = 0; i < kReplicas; ++i) {
      EXPECT_TRUE(started[i].ok()) << replicas_[i].name << ": " << started[i];
    }
    for (Replica& r : replicas_) {
      if (r.process != nullptr) {
        EXPECT_EQ(r.process->Stop(SIGTERM), 0) << r.process->Log();
      }
      r.process.reset();
    }
    EXPECT_EQ(PrivateKeysLabelled(**token, kAuditKeyLabel), 1);
    if (HasFailure()) return;  // one bad round says it all
  }
}

// (d) One replica SIGKILLed under load and restarted: callers see at most
// their in-flight calls fail, and the audit log of every node verifies with
// every successful call in it.
TEST_F(ClusterE2eTest, ReplicaKilledUnderLoadCostsOnlyItsInFlightCalls) {
  StartClusterWithKey("busy");
  if (HasFatalFailure()) return;
  const std::string name = "keys/busy";
  constexpr int kCallers = 9;
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0}, next_invoice{0};
  std::mutex mu;
  std::set<std::string> failures;  // distinct codes and messages
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&] {
      Caller lb = ViaBalancer();
      while (!stop) {
        grpc::Status s = SignInvoice(lb, name, next_invoice++);
        if (s.ok()) {
          ++ok;
          continue;
        }
        ++failed;
        std::lock_guard<std::mutex> lock(mu);
        failures.insert(absl::StrCat(s.error_code(), ": ", s.error_message()));
      }
    });
  }
  absl::SleepFor(absl::Seconds(2));
  Replica& victim = replicas_[1];
  const int ok_before_kill = ok;
  EXPECT_EQ(victim.process->Stop(SIGKILL), 128 + SIGKILL);
  absl::SleepFor(absl::Seconds(2));
  absl::Status restarted = StartReplica(victim, "-restarted");
  if (restarted.ok()) restarted = proxy_->WaitForBackendsUp(kReplicas, absl::Seconds(10));
  absl::SleepFor(absl::Seconds(2));
  stop = true;
  for (std::thread& t : callers) t.join();  // before any ASSERT leaves this scope
  ASSERT_TRUE(restarted.ok()) << restarted;
  std::cout << "[ cluster  ] " << ok << " signed (" << ok_before_kill << " before the kill), "
            << failed << " failed\n";
  EXPECT_GT(ok.load(), ok_before_kill);
  EXPECT_LE(failed.load(), kCallers);
  for (const std::string& f : failures) {
    std::cout << "[ cluster  ] failed call: " << f << "\n";
    EXPECT_TRUE(absl::StartsWith(f, absl::StrCat(grpc::StatusCode::UNAVAILABLE, ":")))
        << "an in-flight call on a killed replica fails UNAVAILABLE: " << f;
  }

  // Every node's chain verifies, and every call a caller saw succeed is in
  // the log (a killed in-flight call may be there too).
  Caller lb = ViaBalancer();
  pb::VerifyAuditLogResponse verify;
  ASSERT_TRUE(Call([&](auto* ctx) { return lb.audit->VerifyAuditLog(ctx, {}, &verify); }).ok());
  EXPECT_TRUE(verify.ok()) << verify.bad_node() << " seq " << verify.bad_seq() << ": "
                           << verify.problem();
  std::set<std::string> nodes;
  for (const auto& chain : verify.chains()) nodes.insert(chain.node());
  for (const Replica& r : replicas_) EXPECT_TRUE(nodes.count(r.name)) << r.name;
  int audited = 0;
  for (const pb::AuditEvent& e : Events(lb, "SignOfflineInvoice")) {
    if (e.key_name() == name && e.outcome() == pb::SUCCESS) audited += e.count();
  }
  EXPECT_GE(audited, ok.load());
  EXPECT_LE(audited, ok.load() + failed.load());
}

// (e) RestoreKey against the destruction sweeps of three replicas, 1,000
// times with a short grace period: a caller told "restored" keeps its key;
// every outcome is one of the two, and token and registry agree on it.
TEST_F(ClusterE2eTest, RestoreNeverLosesToAnotherReplicasDestructionSweep) {
  StartCluster("destruction_grace_period = 300ms\ndestruction_check_interval = 10ms\n");
  if (HasFatalFailure()) return;
  constexpr int kRaces = 1000;
  constexpr int kWorkers = 12;
  std::atomic<int> next_race{0}, restored{0}, destroyed{0}, next_key{0};
  std::mutex mu;
  std::vector<std::string> problems;
  std::map<std::string, bool> last_told_restored;  // key name -> the last race's answer
  const auto problem = [&](std::string text) {
    std::lock_guard<std::mutex> lock(mu);
    problems.push_back(std::move(text));
  };
  std::vector<std::thread> workers;
  const absl::Time started = absl::Now();
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 random(w);
      absl::Duration lead = absl::Milliseconds(5);
      // Schedule and restore over two connections: often two replicas.
      Caller scheduler = ViaBalancer(), restorer = ViaBalancer();
      std::string name;
      while (next_race++ < kRaces) {
        if (name.empty()) {
          const std::string id = absl::StrCat("race-", next_key++);
          pb::Key key;
          grpc::Status s = Call([&](auto* ctx) {
            return scheduler.keys->CreateKey(ctx, KeyRequest(id, kNipA, pb::OFFLINE), &key);
          });
          if (!s.ok()) return problem(absl::StrCat("CreateKey ", id, ": ", s.error_message()));
          name = key.name();
        }
        pb::Key scheduled;
        grpc::Status s = Transition(scheduler, &pb::KeyService::Stub::ScheduleKeyDestruction,
                                    name, &scheduled);
        if (!s.ok()) {
          // A key this worker was told is restored is gone.
          return problem(absl::StrCat("ScheduleKeyDestruction ", name, " after a restore: ",
                                      s.error_code(), " ", s.error_message()));
        }
        // Restore so that it reaches a replica in the last moment of the
        // grace period (read while still restorable, written while a sweep
        // that has just found the key due may be destroying it): `lead`
        // before the end, a staircase that moves 1 ms earlier after each
        // "destroyed" and 1 ms later after each "restored", so it settles
        // where the two outcomes meet whatever the latency, plus up to 1 ms
        // of jitter.
        const absl::Time at = ToTime(scheduled.destroy_time()) - lead +
                              absl::Microseconds(static_cast<int>(random() % 1000));
        absl::SleepFor(at - absl::Now());
        pb::Key after;
        s = Transition(restorer, &pb::KeyService::Stub::RestoreKey, name, &after);
        if (s.error_code() == grpc::StatusCode::ABORTED) {
          // Lost a compare-and-set: read again, decide again.
          s = Transition(restorer, &pb::KeyService::Stub::RestoreKey, name, &after);
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          last_told_restored[name] = s.ok();
        }
        lead = std::clamp(lead + absl::Milliseconds(s.ok() ? -1 : 1), absl::Milliseconds(-20),
                          absl::Milliseconds(200));
        if (s.ok()) {
          ++restored;
          if (after.state() != pb::DISABLED) problem(absl::StrCat(name, " restored as ", after.state()));
        } else if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                   s.error_code() == grpc::StatusCode::NOT_FOUND) {
          // The grace period is over (being destroyed), or it is destroyed.
          ++destroyed;
          name.clear();  // the sweep has it (or will): the next race takes a new key
        } else {
          return problem(absl::StrCat("RestoreKey ", name, ": ", s.error_code(), " ",
                                      s.error_message()));
        }
      }
    });
  }
  for (std::thread& t : workers) t.join();
  std::cout << "[ cluster  ] " << kRaces << " races in " << absl::FormatDuration(absl::Now() - started)
            << ": " << restored << " restored, " << destroyed << " destroyed, " << next_key
            << " keys\n";
  for (const std::string& p : problems) ADD_FAILURE() << p;
  EXPECT_EQ(restored + destroyed, kRaces);

  // Let the sweeps finish what they were given (a backlog under a sanitizer
  // takes a while: wait for each key to leave SCHEDULED_FOR_DESTRUCTION, which
  // a claimed key is shown as), then compare registry and token for every
  // key of the test.
  Caller lb = ViaBalancer();
  std::map<std::string, pb::KeyState> states;
  const absl::Time deadline = absl::Now() + absl::Seconds(30) * TimeScale();
  for (const auto& [name, told_restored] : last_told_restored) {
    // A destroyed key is a tombstone the API reports as NOT_FOUND.
    pb::Key key;
    grpc::Status s;
    do {
      s = GetKey(lb, name, &key);
      if (!s.ok() || key.state() != pb::SCHEDULED_FOR_DESTRUCTION) break;
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < deadline);
    ASSERT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND)
        << name << ": " << s.error_message();
    states[name] = s.ok() ? key.state() : pb::DESTROYED;
    EXPECT_EQ(states[name], told_restored ? pb::DISABLED : pb::DESTROYED)
        << name << (told_restored ? " was restored" : " was not restored");
  }
  for (Replica& r : replicas_) EXPECT_EQ(r.process->Stop(SIGTERM), 0);
  const std::multiset<std::string> on_token = TokenPrivateKeyLabels(*token_);
  for (const auto& [name, state] : states) {
    const std::string id(absl::StripPrefix(name, "keys/"));
    EXPECT_EQ(on_token.count(id), state == pb::DESTROYED ? 0u : 1u)
        << name << " is " << pb::KeyState_Name(state) << " in the registry";
  }
}

}  // namespace
}  // namespace ksef
