// grpc_load: what a caller pays for a whole call (issue 15). Starts the real
// ksef-hsmd on a fresh embedded default (SoftHSM2 token, SQLite registry and
// audit log in state_dir) and, in one run on one machine, measures through
// gRPC with mTLS on loopback:
//   - raw C_Sign on a token of the same module (1 and 2 threads): the token's
//     own limit;
//   - the grpc.health.v1 Check floor of this server at 1/4/16 callers;
//   - GetKey, SignOfflineInvoice (KOD II), SignAuthToken (XAdES), GenerateCsr
//     and CreateKey at 1/4/16 callers, each caller on its own connection;
//   - the SignOfflineInvoices stream at 1 and 2 streams;
//   - KOD II paced at half its 4-caller saturation rate (p99 there);
// each as calls/s, p50/p99/p999 and ratios to raw C_Sign and to the health
// floor at the same concurrency, with the server's CPU time per call and its
// RSS. Then again with state_dir (the audit log) on tmpfs for the main cases.
//
// Not a test: prints a table and writes bench/results/grpc_load.json.
// Run: build/bench/grpc_load [--seconds=3] [--quick] [--only=TEXT]
//   --quick: 1 s per case and no tmpfs run (a smoke run);
//   --only=TEXT: only the cases whose name contains TEXT, beside the floor
//   (e.g. to profile one: perf record -g -p <ksef-hsmd pid>).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/bench_main.h"
#include "bench/raw_pkcs11.h"
#include "pkcs11/hsm.h"
#include "tests/e2e/e2e_fixture.h"

namespace ksef {
namespace {

double g_seconds = 3;
bool g_quick = false;
std::string g_only;  // --only=TEXT: only the cases whose name contains TEXT (and the floor)

bool Wanted(const std::string& name) {
  return g_only.empty() || name == "health Check" || absl::StrContains(name, g_only);
}

// One measured case.
struct Row {
  std::string group;  // "disk" or "tmpfs"
  std::string name;
  int concurrency = 0;
  double calls_per_second = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  int64_t failed = 0;
  double cpu_us_per_call = 0;  // server user+system CPU per successful call
  double rss_mb = 0;           // server RSS after the case
  double of_raw = 0;           // calls/s over raw C_Sign (1 thread for 1, else 2)
  double of_floor = 0;         // calls/s over the health floor at this concurrency
};

double Percentile(std::vector<float>& v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// The server's CPU time (user + system) in seconds, from /proc/<pid>/stat.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // fields 3..13
  double utime = 0, stime = 0;
  fields >> utime >> stime;  // fields 14, 15
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double ProcessRssMb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view v = line;
    if (absl::ConsumePrefix(&v, "VmRSS:")) {
      double kb = 0;
      (void)absl::SimpleAtod(
          absl::StripAsciiWhitespace(absl::StripSuffix(absl::StripAsciiWhitespace(v), "kB")), &kb);
      return kb / 1024;
    }
  }
  return 0;
}

// Raw C_Sign calls/s of `threads` threads: C_SignInit + C_Sign on pre-opened
// sessions with a known handle (bench/raw_pkcs11.h).
double RawRate(CK_FUNCTION_LIST* f, const std::vector<CK_SESSION_HANDLE>& sessions,
               CK_OBJECT_HANDLE handle, int threads, absl::Duration duration) {
  unsigned char digest[32] = {1, 2, 3};
  std::atomic<long> ops{0};
  const absl::Time end = absl::Now() + duration;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      long n = 0;
      while (absl::Now() < end) {
        CK_MECHANISM mech{CKM_ECDSA, nullptr, 0};
        unsigned char sig[64];
        CK_ULONG len = sizeof(sig);
        if (f->C_SignInit(sessions[t], &mech, handle) != CKR_OK ||
            f->C_Sign(sessions[t], digest, 32, sig, &len) != CKR_OK) {
          std::abort();
        }
        ++n;
      }
      ops += n;
    });
  }
  for (std::thread& th : pool) th.join();
  return static_cast<double>(ops.load()) / absl::ToDoubleSeconds(duration);
}

// Raw C_Sign at 1 and 2 threads on a throwaway token of the server's module,
// opened in this process (the module's own limit on this machine).
std::pair<double, double> RawCSign(absl::Duration duration) {
  auto token = testing::TestToken::Create("raw");
  if (!token.ok()) return {0, 0};
  pkcs11::HsmOptions options;
  options.module_path = testing::TestToken::ModulePath();
  options.token_label = (*token)->label();
  options.pin = SecureString((*token)->pin());
  options.session_pool_size = 4;
  auto hsm = pkcs11::Hsm::Open(std::move(options));
  if (!hsm.ok()) return {0, 0};
  auto key = (*hsm)->keys().Generate(crypto::KeyAlgorithm::kEcP256, "raw");
  if (!key.ok()) return {0, 0};
  CK_FUNCTION_LIST* f = bench::RawFunctionList(testing::TestToken::ModulePath());
  std::vector<CK_SESSION_HANDLE> sessions = bench::OpenRawSessions(f, (*token)->label(), 2);
  CK_OBJECT_HANDLE handle = bench::FindKey(f, sessions[0], key->id);
  std::pair<double, double> rates{RawRate(f, sessions, handle, 1, duration),
                                  RawRate(f, sessions, handle, 2, duration)};
  for (CK_SESSION_HANDLE h : sessions) f->C_CloseSession(h);
  return rates;
}

// A call made by caller `t` for the `n`-th time on its own connection.
using CallFn = std::function<grpc::Status(Caller&, int t, int n)>;

class GrpcLoad : public E2eFixture {
 protected:
  // Starts the server with its state (registry, audit) in `state_dir`.
  void StartServer(const std::string& state_dir) {
    server_.reset();
    std::string config;
    {
      std::ifstream in(config_);
      config.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    absl::StrReplaceAll({{"state_dir = state\n", absl::StrCat("state_dir = ", state_dir, "\n")}},
                        &config);
    std::ofstream(config_) << config;
    auto server =
        ServerProcess::Start(config_, dir_ + "/server-" + std::to_string(++starts_) + ".log");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    admin_ = Connect(server_->port(), "client");
    ActiveKey(admin_, "load-offline", kNipA, pb::OFFLINE);
    ActiveKey(admin_, "load-auth", kNipA, pb::AUTHENTICATION);
  }

  // `callers` threads, each on its own connection, run `call` for the case's
  // time; latency of each call.
  Row Closed(const std::string& name, int callers, const CallFn& call) {
    if (!Wanted(name)) return Row{};
    std::vector<Caller> conns;
    for (int t = 0; t < callers; ++t) conns.push_back(Connect(server_->port(), "client"));
    for (int t = 0; t < callers; ++t) (void)call(conns[t], t, -1 - t);  // warm the connection
    std::vector<std::vector<float>> lat(callers);
    std::atomic<int64_t> failed{0};
    std::atomic<bool> stop{false};
    const double cpu0 = ProcessCpuSeconds(server_->pid());
    const absl::Time start = absl::Now();
    std::vector<std::thread> threads;
    for (int t = 0; t < callers; ++t) {
      threads.emplace_back([&, t] {
        lat[t].reserve(200000);
        for (int n = 0; !stop.load(std::memory_order_relaxed); ++n) {
          const absl::Time s = absl::Now();
          grpc::Status status = call(conns[t], t, n);
          if (!status.ok()) {
            if (failed++ == 0) std::cerr << name << ": " << status.error_message() << "\n";
            continue;
          }
          lat[t].push_back(static_cast<float>(absl::ToDoubleMilliseconds(absl::Now() - s)));
        }
      });
    }
    absl::SleepFor(absl::Seconds(g_seconds));
    stop = true;
    for (std::thread& th : threads) th.join();
    return Finish(name, callers, lat, failed.load(), absl::Now() - start, cpu0);
  }

  // `streams` SignOfflineInvoices streams, each with a writer that keeps at
  // most `window` invoices unanswered; latency from write to result.
  Row Streams(const std::string& name, int streams, int window = 64) {
    if (!Wanted(name)) return Row{};
    std::vector<Caller> conns;
    for (int t = 0; t < streams; ++t) conns.push_back(Connect(server_->port(), "client"));
    std::vector<std::vector<float>> lat(streams);
    std::atomic<int64_t> failed{0};
    std::atomic<bool> stop{false};
    const double cpu0 = ProcessCpuSeconds(server_->pid());
    const absl::Time start = absl::Now();
    std::vector<std::thread> threads;
    for (int t = 0; t < streams; ++t) {
      threads.emplace_back([&, t] { OneStream(conns[t], t, window, stop, lat[t], failed); });
    }
    absl::SleepFor(absl::Seconds(g_seconds));
    stop = true;
    for (std::thread& th : threads) th.join();
    return Finish(name, streams, lat, failed.load(), absl::Now() - start, cpu0);
  }

  // KOD II by `callers` threads at `rate` calls/s in all (each on a fixed
  // schedule); latency from the scheduled start (a late start counts).
  Row Paced(const std::string& name, int callers, double rate) {
    if (!Wanted(name) || rate <= 0) return Row{};
    std::vector<Caller> conns;
    for (int t = 0; t < callers; ++t) conns.push_back(Connect(server_->port(), "client"));
    std::vector<std::vector<float>> lat(callers);
    std::atomic<int64_t> failed{0};
    const absl::Duration interval = absl::Seconds(callers / rate);
    const double cpu0 = ProcessCpuSeconds(server_->pid());
    const absl::Time start = absl::Now();
    const absl::Time end = start + absl::Seconds(g_seconds);
    std::vector<std::thread> threads;
    for (int t = 0; t < callers; ++t) {
      threads.emplace_back([&, t] {
        absl::Time due = start + interval * t / callers;
        for (int n = 0; due < end; ++n, due += interval) {
          absl::SleepFor(due - absl::Now());
          if (!SignInvoice(conns[t], t, n).ok()) {
            ++failed;
            continue;
          }
          lat[t].push_back(static_cast<float>(absl::ToDoubleMilliseconds(absl::Now() - due)));
        }
      });
    }
    for (std::thread& th : threads) th.join();
    return Finish(name, callers, lat, failed.load(), absl::Now() - start, cpu0);
  }

  static grpc::Status SignInvoice(Caller& c, int t, int n) {
    pb::OfflineInvoiceCodes codes;
    return Call([&](auto* ctx) {
      return c.offline->SignOfflineInvoice(ctx, Invoice("keys/load-offline", t * 10000000 + n),
                                           &codes);
    });
  }

  std::unique_ptr<ServerProcess> server_;
  Caller admin_;
  int starts_ = 0;

 private:
  Row Finish(const std::string& name, int concurrency, std::vector<std::vector<float>>& lat,
             int64_t failed, absl::Duration took, double cpu0) {
    std::vector<float> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    Row row;
    row.name = name;
    row.concurrency = concurrency;
    row.calls_per_second = static_cast<double>(all.size()) / absl::ToDoubleSeconds(took);
    row.failed = failed;
    row.cpu_us_per_call = all.empty() ? 0
                                      : (ProcessCpuSeconds(server_->pid()) - cpu0) * 1e6 /
                                            static_cast<double>(all.size());
    row.rss_mb = ProcessRssMb(server_->pid());
    row.p50_ms = Percentile(all, 0.50);
    row.p99_ms = Percentile(all, 0.99);
    row.p999_ms = Percentile(all, 0.999);
    std::cerr << "  " << name << " x" << concurrency << ": " << std::fixed << std::setprecision(0)
              << row.calls_per_second << " calls/s\n";
    return row;
  }

  void OneStream(Caller& c, int t, int window, std::atomic<bool>& stop, std::vector<float>& lat,
                 std::atomic<int64_t>& failed) {
    grpc::ClientContext ctx;
    auto stream = c.offline->SignOfflineInvoices(&ctx);
    std::vector<absl::Time> sent(1 << 20);
    std::atomic<int64_t> written{0}, read{0};
    std::thread writer([&] {
      for (int64_t i = 0; !stop.load(std::memory_order_relaxed) && i < (1 << 20); ++i) {
        while (i - read.load() >= window && !stop.load()) absl::SleepFor(absl::Microseconds(50));
        sent[i] = absl::Now();
        if (!stream->Write(Invoice("keys/load-offline", t * 10000000 + static_cast<int>(i)))) {
          break;
        }
        written = i + 1;
      }
      stream->WritesDone();
    });
    pb::OfflineInvoiceResult result;
    while (stream->Read(&result)) {
      const absl::Time now = absl::Now();
      const int64_t i = read.load();
      read = i + 1;
      if (result.error_code() != 0) {
        ++failed;
        continue;
      }
      if (!stop.load(std::memory_order_relaxed)) {
        lat.push_back(static_cast<float>(absl::ToDoubleMilliseconds(now - sent[i])));
      }
    }
    writer.join();
    (void)stream->Finish();
  }
};

void PrintAndSave(const std::vector<Row>& rows, double raw1, double raw2) {
  std::cout << "\nraw C_Sign: 1 thread " << std::fixed << std::setprecision(0) << raw1
            << "/s, 2 threads " << raw2 << "/s; " << g_seconds << " s per case, "
            << std::thread::hardware_concurrency() << " cores\n\n"
            << "| audit | case | callers | calls/s | p50 ms | p99 ms | p999 ms | of raw C_Sign "
               "| of health floor | server CPU us/call | RSS MB | failed |\n"
            << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Row& r : rows) {
    std::cout << "| " << r.group << " | " << r.name << " | " << r.concurrency << " | "
              << std::setprecision(0) << r.calls_per_second << " | " << std::setprecision(2)
              << r.p50_ms << " | " << r.p99_ms << " | " << r.p999_ms << " | " << r.of_raw << " | "
              << r.of_floor << " | " << std::setprecision(0) << r.cpu_us_per_call << " | "
              << r.rss_mb << " | " << r.failed << " |\n";
  }
  std::ofstream out(absl::StrCat(std::getenv("KSEF_SOURCE_DIR"), "/bench/results/grpc_load.json"));
  out << "{\"seconds_per_case\": " << g_seconds
      << ", \"cores\": " << std::thread::hardware_concurrency()
      << ", \"raw_c_sign\": {\"1\": " << raw1 << ", \"2\": " << raw2 << "}, \"cases\": [";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out << (i ? ",\n  " : "\n  ") << "{\"audit\": \"" << r.group << "\", \"case\": \"" << r.name
        << "\", \"concurrency\": " << r.concurrency
        << ", \"calls_per_second\": " << r.calls_per_second << ", \"p50_ms\": " << r.p50_ms
        << ", \"p99_ms\": " << r.p99_ms << ", \"p999_ms\": " << r.p999_ms
        << ", \"of_raw\": " << r.of_raw << ", \"of_floor\": " << r.of_floor
        << ", \"server_cpu_us_per_call\": " << r.cpu_us_per_call << ", \"rss_mb\": " << r.rss_mb
        << ", \"failed\": " << r.failed << "}";
  }
  out << "\n]}\n";
}

TEST_F(GrpcLoad, EveryCase) {
  const absl::Duration raw_time = absl::Seconds(g_seconds);
  const auto [raw1, raw2] = RawCSign(raw_time);
  ASSERT_GT(raw1, 0);
  std::vector<Row> rows;
  const std::string shm = absl::StrCat("/dev/shm/ksef-grpc-load-", getpid());
  for (const std::string group : {"disk", "tmpfs"}) {
    if (group == "tmpfs" && g_quick) break;
    StartServer(group == "disk" ? std::string("state") : shm);
    if (HasFatalFailure()) return;
    std::map<int, double> floor;
    const std::vector<int> levels = {1, 4, 16};
    auto add = [&](Row row) {
      if (row.name.empty()) return 0.0;  // not wanted (--only)
      row.group = group;
      row.of_raw = row.calls_per_second / (row.concurrency == 1 ? raw1 : raw2);
      auto f = floor.find(row.concurrency);
      row.of_floor = f == floor.end() ? 0 : row.calls_per_second / f->second;
      rows.push_back(row);
      return rows.back().calls_per_second;
    };
    for (int n : levels) {
      Row health = Closed("health Check", n, [](Caller& c, int, int) {
        auto stub = grpc::health::v1::Health::NewStub(c.channel);
        grpc::health::v1::HealthCheckResponse resp;
        return Call([&](auto* ctx) { return stub->Check(ctx, {}, &resp); });
      });
      floor[n] = health.calls_per_second;
      add(health);
    }
    floor[2] = floor[1] * 2;  // streams: compared with raw C_Sign (2 threads), not the floor
    double kod4 = 0;
    for (int n : levels) {
      add(Closed("GetKey", n, [](Caller& c, int, int) {
        pb::GetKeyRequest req;
        req.set_name("keys/load-offline");
        pb::Key key;
        return Call([&](auto* ctx) { return c.keys->GetKey(ctx, req, &key); });
      }));
      const double kod = add(Closed("SignOfflineInvoice (KOD II)", n, SignInvoice));
      if (n == 4) kod4 = kod;
    }
    for (int n : {1, 2}) add(Streams("SignOfflineInvoices stream", n));
    // Also on tmpfs: how much of the tail is the disk's flush.
    add(Paced("KOD II paced at half its 4-caller rate", 4, kod4 / 2));
    if (group == "tmpfs") continue;  // the audit-cost comparison needs only the above
    for (int n : levels) {
      add(Closed("SignAuthToken (XAdES)", n,
                 [](Caller& c, int, int) { return SignAuth(c, "keys/load-auth"); }));
      add(Closed("GenerateCsr", n, [](Caller& c, int, int) {
        pb::GenerateCsrRequest req;
        req.set_name("keys/load-auth");
        req.mutable_enrollment_data()->set_common_name("Load");
        req.mutable_enrollment_data()->set_country_name("PL");
        pb::GenerateCsrResponse resp;
        return Call([&](auto* ctx) { return c.enroll->GenerateCsr(ctx, req, &resp); });
      }));
    }
    for (int n : levels) {
      add(Closed("CreateKey", n, [n](Caller& c, int t, int i) {
        pb::Key key;
        pb::CreateKeyRequest req =
            KeyRequest(absl::StrCat("made-", n, "-", t, "-", i < 0 ? -i : i, i < 0 ? "w" : ""),
                       kNipA, pb::OFFLINE);
        return Call([&](auto* ctx) { return c.keys->CreateKey(ctx, req, &key); });
      }));
    }
  }
  server_.reset();
  std::filesystem::remove_all(shm);
  PrintAndSave(rows, raw1, raw2);
}

}  // namespace
}  // namespace ksef

int main(int argc, char** argv) {
  return ksef::bench::RunBenches(argc, argv,
                                 {ksef::bench::DoubleFlag("--seconds=", &ksef::g_seconds),
                                  ksef::bench::StringFlag("--only=", &ksef::g_only),
                                  {"--quick", [](absl::string_view) {
                                     ksef::g_quick = true;
                                     ksef::g_seconds = 1;
                                   }}});
}
