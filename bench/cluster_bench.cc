// Scale-out throughput (issue 14): KOD II signing calls per second through
// HAProxy with three ksef-hsmd replicas, beside one replica alone (directly
// and through the balancer) and the gRPC health-check floor of one replica,
// all in one run on one machine, with the shared PostgreSQL audit store and
// key registry of a cluster (tests/e2e/cluster_fixture.h).
//
// Not a test: it prints a table and writes bench/results/cluster.json.
// Run (needs haproxy and the test PostgreSQL server):
//   eval "$(bash scripts/pg-test-server.sh start /tmp/ksef-pg-bench)"
//   build/bench/cluster_bench [--seconds=5] [--callers=8]
// On 2 cores the replicas share the CPU with the balancer, the database and
// the load client, so three need not beat one: the figure shows what the
// balancer and the shared store cost.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/bench_main.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/e2e/cluster_fixture.h"

namespace ksef {
namespace {

int g_seconds = 5;
int g_callers = 8;

struct Row {
  std::string name;
  double calls_per_second = 0;
  int64_t failed = 0;
};

// `callers` threads, each on its own connection from `dial`, run `call`
// until the time is up; calls per second of the successful ones.
template <typename Dial, typename CallFn>
Row Measure(const std::string& name, Dial dial, CallFn call) {
  std::atomic<int64_t> ok{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < g_callers; ++t) {
    threads.emplace_back([&, t] {
      Caller c = dial();
      for (int n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        (call(c, t * 1000000 + n).ok() ? ok : failed)++;
      }
    });
  }
  const absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(g_seconds));
  stop = true;
  for (std::thread& th : threads) th.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return Row{name, static_cast<double>(ok.load()) / seconds, failed.load()};
}

grpc::Status HealthCheck(Caller& c, int) {
  auto stub = grpc::health::v1::Health::NewStub(c.channel);
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
}

class ClusterBench : public ClusterFixture {
 protected:
  static grpc::Status SignInvoice(Caller& c, int n) {
    pb::OfflineInvoiceCodes codes;
    return Call([&](auto* ctx) {
      return c.offline->SignOfflineInvoice(ctx, Invoice("keys/bench", n), &codes);
    });
  }
  void StopCluster() {
    proxy_.reset();
    for (Replica& r : replicas_) r.process.reset();
  }
};

void Print(const std::vector<Row>& rows, double floor) {
  std::cout << "\n| case | calls/s | of the health floor | failed |\n|---|---|---|---|\n";
  for (const Row& r : rows) {
    std::cout << "| " << r.name << " | " << std::fixed << std::setprecision(0) << r.calls_per_second
              << " | " << std::setprecision(2) << r.calls_per_second / floor << " | " << r.failed
              << " |\n";
  }
}

void WriteJson(const std::vector<Row>& rows, const std::string& path) {
  std::ofstream out(path);
  out << "{\"seconds\": " << g_seconds << ", \"callers\": " << g_callers << ", \"cases\": [";
  for (size_t i = 0; i < rows.size(); ++i) {
    out << (i ? ", " : "") << "{\"case\": \"" << rows[i].name
        << "\", \"calls_per_second\": " << rows[i].calls_per_second
        << ", \"failed\": " << rows[i].failed << "}";
  }
  out << "]}\n";
}

TEST_F(ClusterBench, KodIiThroughTheBalancer) {
  std::vector<Row> rows;
  // One replica: the floor, then KOD II directly and through HAProxy.
  StartClusterWithKey("bench", /*count=*/1);
  if (HasFatalFailure()) return;
  const Replica& only = replicas_[0];
  rows.push_back(Measure(
      "health Check, 1 replica, direct", [&] { return Direct(only); }, HealthCheck));
  rows.push_back(Measure(
      "KOD II, 1 replica, direct", [&] { return Direct(only); }, SignInvoice));
  rows.push_back(Measure(
      "KOD II, 1 replica, HAProxy", [&] { return ViaBalancer(); }, SignInvoice));
  StopCluster();
  // Three replicas on the same token, registry and audit store.
  StartCluster("", kReplicas);
  if (HasFatalFailure()) return;
  rows.push_back(Measure(
      "KOD II, 3 replicas, HAProxy", [&] { return ViaBalancer(); }, SignInvoice));
  std::cout << "\n"
            << g_callers << " callers, " << g_seconds << " s per case, "
            << std::thread::hardware_concurrency() << " cores\n";
  Print(rows, rows[0].calls_per_second);
  const char* source = std::getenv("KSEF_SOURCE_DIR");
  WriteJson(rows, absl::StrCat(source, "/bench/results/cluster.json"));
}

}  // namespace
}  // namespace ksef

int main(int argc, char** argv) {
  setenv("KSEF_REQUIRE_HAPROXY", "1", /*overwrite=*/0);
  return ksef::bench::RunBenches(argc, argv,
                                 {ksef::bench::IntFlag("--seconds=", &ksef::g_seconds),
                                  ksef::bench::IntFlag("--callers=", &ksef::g_callers)});
}
