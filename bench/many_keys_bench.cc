// Start-up and key operations against the number of keys on the token
// (issue 15): the real ksef-hsmd on a SoftHSM2 token holding N key pairs
// made by a plain PKCS#11 keygen loop (default 10,000), beside a token with
// 10, in one run on one machine. Measures the time from exec to serving
// (fresh state directory, and a restart), how long a SIGTERM sent during
// start-up takes to end the process (while the token's objects are read, and
// 200 ms after exec, inside C_Initialize), CreateKey latency, and the KOD II
// signing rate (SignOfflineInvoice, `--callers` callers).
//
// Not a test: it prints a table and writes bench/results/many_keys.json.
// Run:
//   build/bench/many_keys_bench [--keys=10000] [--seconds=5] [--callers=4]
//                               [--token-cache=DIR]
// Filling 10,000 key pairs takes minutes (progress is printed); with
// --token-cache the filled token is kept in DIR/keys-N and copied from there
// on later runs (each run works on a copy: the server adds its audit key and
// the keys it creates).
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "bench/bench_main.h"
#include "bench/raw_pkcs11.h"
#include "tests/e2e/e2e_fixture.h"

namespace ksef {
namespace {

int g_keys = 10000;
int g_seconds = 5;
int g_callers = 4;
std::string g_token_cache;

constexpr char kPin[] = "246810";
constexpr int kCreates = 20;

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// What one token size gave.
struct Result {
  int keys = 0;
  double start_fresh_ms = 0, restart_ms = 0;
  std::string inventory_took;  // as the server logged it at the restart
  double stop_while_reading_ms = 0, stop_early_ms = 0;
  int stop_while_reading_exit = 0, stop_early_exit = 0;
  double create_p50_ms = 0, create_p90_ms = 0, create_max_ms = 0;
  double sign_per_second = 0;
  int64_t sign_failed = 0;
};

class ManyKeysBench : public E2eFixture {
 protected:
  // A filled SoftHSM2 token directory (tokens/, softhsm2.conf, pin) for
  // `keys` key pairs: made in `dir`, or copied from the cache.
  void MakeToken(int keys, const std::string& dir) {
    const std::string cached =
        g_token_cache.empty() ? "" : absl::StrCat(g_token_cache, "/keys-", keys);
    if (!cached.empty() && std::filesystem::exists(cached + "/filled")) {
      std::cout << "token with " << keys << " keys: copied from " << cached << "\n";
    } else {
      const std::string where = cached.empty() ? dir : cached;
      std::filesystem::remove_all(where);
      FillToken(keys, where);
      if (HasFatalFailure()) return;
    }
    if (!cached.empty()) {
      ASSERT_EQ(RunCommand(absl::StrCat("rm -rf '", dir, "' && cp -a '", cached, "' '", dir, "'")),
                0);
      // The copy's conf must name the copy's token directory.
      WriteSoftHsmConf(dir);
    }
  }

  static void WriteSoftHsmConf(const std::string& dir) {
    std::ofstream(dir + "/softhsm2.conf")
        << "directories.tokendir = " << dir << "/tokens\n"
        << "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
  }

  void FillToken(int keys, const std::string& dir) {
    std::filesystem::create_directories(dir + "/tokens");
    WriteSoftHsmConf(dir);
    setenv("SOFTHSM2_CONF", (dir + "/softhsm2.conf").c_str(), 1);
    std::string out;
    ASSERT_EQ(RunCommand(absl::StrCat("softhsm2-util --init-token --free --label many-keys ",
                                      "--pin ", kPin, " --so-pin 13579111", " 2>&1"),
                         &out),
              0)
        << out;
    std::cout << "filling a token with " << keys << " key pairs (plain PKCS#11 keygen)\n";
    const auto start = std::chrono::steady_clock::now();
    bench::GenerateKeyPairs(TestToken::ModulePath(), "many-keys", kPin, "bulk-", keys,
                            [&](int done) {
                              std::cout << "  " << done << " / " << keys << " (" << std::fixed
                                        << std::setprecision(0) << MsSince(start) / 1000 << " s)\n"
                                        << std::flush;
                            });
    std::ofstream(dir + "/filled") << keys << "\n";
  }

  // A server configuration for the token in `token_dir` with its own state.
  std::string WriteConfig(const std::string& token_dir, int keys) {
    const std::string pin_file = token_dir + "/pin";
    std::ofstream(pin_file) << kPin;
    ::chmod(pin_file.c_str(), 0600);
    const std::string path = absl::StrCat(dir_, "/many-", keys, ".conf");
    std::ofstream(path) << "listen_address = 127.0.0.1:0\n"
                        << "tls_cert_file = pki/server.pem\ntls_key_file = pki/server.key\n"
                        << "tls_client_ca_file = pki/ca.pem\n"
                        << "pkcs11_module = " << TestToken::ModulePath() << "\n"
                        << "token_label = many-keys\n"
                        << "pin_file = " << pin_file << "\n"
                        << "softhsm2_conf = " << token_dir << "/softhsm2.conf\n"
                        << "token_store_dir = " << token_dir << "/tokens\n"
                        << "state_dir = state-" << keys << "\n"
                        << "policy_file = policy.conf\n"
                        << "node_id = bench-node\n"
                        << "log_level = info\n";
    return path;
  }

  // Starts the server; how long until it logged that it serves.
  std::unique_ptr<ServerProcess> TimedStart(const std::string& config, const std::string& log,
                                            double* ms) {
    const auto start = std::chrono::steady_clock::now();
    auto server = ServerProcess::Start(config, log, absl::Minutes(120));
    *ms = MsSince(start);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  // SIGTERM once the log shows `log_text` (after `delay`); ms until exit.
  double StopDuringStartUp(const std::string& config, const std::string& log,
                           const std::string& log_text, absl::Duration delay, int* exit_code) {
    auto starting = ServerProcess::StartUntilLog(config, log, log_text, absl::Minutes(120));
    EXPECT_TRUE(starting.ok()) << starting.status();
    if (!starting.ok()) return -1;
    absl::SleepFor(delay);
    const auto sent = std::chrono::steady_clock::now();
    *exit_code = (*starting)->Stop(SIGTERM, absl::Minutes(120));
    return MsSince(sent);
  }

  void MeasureCreateKey(Caller& c, Result& r) {
    std::vector<double> took;
    for (int i = 0; i < kCreates; ++i) {
      pb::Key key;
      pb::CreateKeyRequest req = KeyRequest(absl::StrCat("created-", i), kNipA, pb::OFFLINE);
      const auto start = std::chrono::steady_clock::now();
      grpc::Status s = Call([&](auto* ctx) { return c.keys->CreateKey(ctx, req, &key); });
      took.push_back(MsSince(start));
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    std::sort(took.begin(), took.end());
    r.create_p50_ms = took[took.size() / 2];
    r.create_p90_ms = took[took.size() * 9 / 10];
    r.create_max_ms = took.back();
  }

  void MeasureSigning(int port, Result& r) {
    std::atomic<int64_t> ok{0}, failed{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < g_callers; ++t) {
      threads.emplace_back([&, t] {
        Caller c = Connect(port, "client");
        for (int n = 0; !stop.load(std::memory_order_relaxed); ++n) {
          pb::OfflineInvoiceCodes codes;
          grpc::Status s = Call([&](auto* ctx) {
            return c.offline->SignOfflineInvoice(ctx, Invoice("keys/bench", t * 1000000 + n),
                                                 &codes);
          });
          (s.ok() ? ok : failed)++;
        }
      });
    }
    const auto start = std::chrono::steady_clock::now();
    absl::SleepFor(absl::Seconds(g_seconds));
    stop = true;
    for (std::thread& th : threads) th.join();
    r.sign_per_second = static_cast<double>(ok.load()) / (MsSince(start) / 1000);
    r.sign_failed = failed.load();
  }

  static std::string InventoryTook(const std::string& log) {
    const std::string marker = "read in ";
    size_t at = log.rfind(marker);
    if (at == std::string::npos) return "?";
    at += marker.size();
    return log.substr(at, log.find_first_of("\n\"", at) - at);
  }

  Result Run(int keys) {
    Result r;
    r.keys = keys;
    const std::string token_dir = absl::StrCat(dir_, "/token-", keys);
    MakeToken(keys, token_dir);
    if (HasFatalFailure()) return r;
    const std::string config = WriteConfig(token_dir, keys);
    const std::string log = absl::StrCat(dir_, "/server-", keys, ".log");
    std::cout << "measuring " << keys << " keys\n" << std::flush;
    {
      auto server = TimedStart(config, log, &r.start_fresh_ms);
      if (server == nullptr) return r;
      Caller c = Connect(server->port(), "client");
      MeasureCreateKey(c, r);
      ActiveKey(c, "bench", kNipA, pb::OFFLINE);
      MeasureSigning(server->port(), r);
      EXPECT_EQ(server->Stop(SIGTERM, absl::Minutes(10)), 0);
    }
    {
      auto server = TimedStart(config, log, &r.restart_ms);
      if (server == nullptr) return r;
      r.inventory_took = InventoryTook(server->Log());
      EXPECT_EQ(server->Stop(SIGTERM, absl::Minutes(10)), 0);
    }
    r.stop_while_reading_ms = StopDuringStartUp(config, log, "reading the token's objects",
                                                absl::ZeroDuration(), &r.stop_while_reading_exit);
    r.stop_early_ms =
        StopDuringStartUp(config, log, "", absl::Milliseconds(200), &r.stop_early_exit);
    return r;
  }
};

void Print(const std::vector<Result>& results) {
  const Result& base = results.front();
  std::cout << "\n| keys on the token | start (fresh state) | restart | object pass | "
               "SIGTERM while reading objects | SIGTERM 200 ms after exec | CreateKey p50 / "
               "p90 / max | KOD II calls/s | of the 10-key rate |\n"
               "|---|---|---|---|---|---|---|---|---|\n";
  for (const Result& r : results) {
    std::cout << std::fixed << std::setprecision(0) << "| " << r.keys << " | " << r.start_fresh_ms
              << " ms | " << r.restart_ms << " ms | " << r.inventory_took << " | "
              << r.stop_while_reading_ms << " ms (exit " << r.stop_while_reading_exit << ") | "
              << r.stop_early_ms << " ms (exit " << r.stop_early_exit << ") | "
              << std::setprecision(1) << r.create_p50_ms << " / " << r.create_p90_ms << " / "
              << r.create_max_ms << " ms | " << std::setprecision(0) << r.sign_per_second << " | "
              << std::setprecision(3) << r.sign_per_second / base.sign_per_second << " |\n";
  }
}

void WriteJson(const std::vector<Result>& results, const std::string& path) {
  std::ofstream out(path);
  out << "{\"seconds\": " << g_seconds << ", \"callers\": " << g_callers
      << ", \"cores\": " << std::thread::hardware_concurrency() << ", \"tokens\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    out << (i ? ", " : "") << "{\"keys\": " << r.keys
        << ", \"start_fresh_ms\": " << r.start_fresh_ms << ", \"restart_ms\": " << r.restart_ms
        << ", \"object_pass\": \"" << r.inventory_took
        << "\", \"sigterm_while_reading_objects_ms\": " << r.stop_while_reading_ms
        << ", \"sigterm_while_reading_objects_exit\": " << r.stop_while_reading_exit
        << ", \"sigterm_200ms_after_exec_ms\": " << r.stop_early_ms
        << ", \"sigterm_200ms_after_exec_exit\": " << r.stop_early_exit
        << ", \"create_key_ms\": {\"p50\": " << r.create_p50_ms << ", \"p90\": " << r.create_p90_ms
        << ", \"max\": " << r.create_max_ms << "}"
        << ", \"kod2_calls_per_second\": " << r.sign_per_second
        << ", \"kod2_failed\": " << r.sign_failed << "}";
  }
  out << "]}\n";
}

TEST_F(ManyKeysBench, StartUpCreateKeyAndSigningAgainstTheNumberOfKeys) {
  std::vector<Result> results;
  for (int keys : {10, g_keys}) {
    results.push_back(Run(keys));
    if (HasFailure()) return;
  }
  std::cout << "\n"
            << g_callers << " signing callers, " << g_seconds << " s, "
            << std::thread::hardware_concurrency() << " cores\n";
  Print(results);
  WriteJson(results, absl::StrCat(std::getenv("KSEF_SOURCE_DIR"), "/bench/results/many_keys.json"));
}

}  // namespace
}  // namespace ksef

int main(int argc, char** argv) {
  return ksef::bench::RunBenches(argc, argv,
                                 {ksef::bench::IntFlag("--keys=", &ksef::g_keys),
                                  ksef::bench::IntFlag("--seconds=", &ksef::g_seconds),
                                  ksef::bench::IntFlag("--callers=", &ksef::g_callers),
                                  ksef::bench::StringFlag("--token-cache=", &ksef::g_token_cache)});
}
