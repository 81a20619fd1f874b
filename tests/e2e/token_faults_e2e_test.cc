// Real-HSM behaviour through the real server (issue 13): the SoftHSM2 token
// directory moved away and back under signing load, and each device fault of
// the fault module (tests/fault/fault_pkcs11.cc: sessions invalidated, logged
// out, device removed until re-initialized, a poisoned C_Sign) under 8
// concurrent signers. In every case: no NOT_FOUND for a key that exists, no
// signature that does not verify, recovery without a restart, one audit event
// per call.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/ecdsa.h"
#include "common/encoding.h"
#include "common/files.h"
#include "tests/e2e/e2e_fixture.h"

namespace ksef {
namespace {

// The KOD II signed string and signature of a link (docs: ksef.md, KOD II).
std::string SignedStringOf(const std::string& link) {
  std::string rest = link.substr(std::string("https://").size());
  return rest.substr(0, rest.rfind('/'));
}
std::string SignatureOf(const std::string& link) {
  return Base64UrlDecode(link.substr(link.rfind('/') + 1)).value_or("");
}

// `threads` callers sign offline invoices with one key until Stop(); every
// outcome is kept with its time, and every signature is verified against the
// key's public key.
class SigningLoad {
 public:
  struct Outcome {
    absl::Time at;
    grpc::StatusCode code;
    std::string message;
    bool verified = false;
  };

  SigningLoad(std::function<Caller()> connect, std::string key, std::string spki, int threads)
      : key_(std::move(key)), spki_(std::move(spki)) {
    for (int t = 0; t < threads; ++t) {
      workers_.emplace_back([this, connect, t] { Run(connect(), t); });
    }
  }
  ~SigningLoad() { Stop(); }

  void Stop() {
    stop_ = true;
    for (auto& w : workers_) {
      if (w.joinable()) w.join();
    }
  }
  std::vector<Outcome> outcomes() {
    std::lock_guard<std::mutex> lock(mu_);
    return outcomes_;
  }

 private:
  void Run(Caller c, int thread) {
    for (int n = 0; !stop_; ++n) {
      pb::OfflineInvoiceCodes codes;
      grpc::Status s = Call([&](auto* ctx) {
        return c.offline->SignOfflineInvoice(ctx, Invoice(key_, thread * 1000000 + n), &codes);
      });
      Outcome o{absl::Now(), s.error_code(), s.error_message()};
      if (s.ok()) {
        const std::string& link = codes.kod_ii_link();
        o.verified =
            VerifyEcdsaSha256Raw(spki_, Sha256(SignedStringOf(link)), SignatureOf(link)).ok();
      } else {
        absl::SleepFor(absl::Milliseconds(20));  // a caller backs off on errors
      }
      std::lock_guard<std::mutex> lock(mu_);
      outcomes_.push_back(std::move(o));
    }
  }

  const std::string key_, spki_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Outcome> outcomes_;
  std::vector<std::thread> workers_;
};

class TokenFaultsE2eTest : public E2eFixture {
 protected:
  // Starts the server (through the fault module when `faulty`) with a key
  // "off-a" ready to sign offline invoices.
  void StartServer(bool faulty) {
    std::string conf = ReadFile(config_).value();
    if (faulty) {
      const char* build = std::getenv("KSEF_BUILD_DIR");
      ASSERT_NE(build, nullptr) << "run through ctest (KSEF_BUILD_DIR)";
      fault_dir_ = dir_ + "/fault";
      std::filesystem::create_directories(fault_dir_);
      setenv("KSEF_FAULT_PKCS11_MODULE", TestToken::ModulePath().c_str(), 1);
      setenv("KSEF_FAULT_PKCS11_DIR", fault_dir_.c_str(), 1);
      conf = absl::StrReplaceAll(
          conf, {{absl::StrCat("pkcs11_module = ", TestToken::ModulePath()),
                  absl::StrCat("pkcs11_module = ", build, "/tests/libksef_fault_pkcs11.so")}});
    }
    const std::string path = dir_ + "/faults.conf";
    std::ofstream(path) << conf << "session_pool_size = 12\nmax_concurrent_signs = 8\n";
    auto server = ServerProcess::Start(path, dir_ + "/server.log");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    cli_ = Connect(server_->port(), "client");
    ActiveKey(cli_, "off-a", kNipA, pb::OFFLINE);
    pb::GetPublicKeyRequest req;
    req.set_name("keys/off-a");
    pb::PublicKey pub;
    ASSERT_TRUE(Call([&](auto* ctx) { return cli_.keys->GetPublicKey(ctx, req, &pub); }).ok());
    spki_ = pub.der();
  }
  void TearDown() override {
    unsetenv("KSEF_FAULT_PKCS11_MODULE");
    unsetenv("KSEF_FAULT_PKCS11_DIR");
  }

  std::unique_ptr<SigningLoad> Load(int threads) {
    return std::make_unique<SigningLoad>([this] { return Connect(server_->port(), "client"); },
                                         "keys/off-a", spki_, threads);
  }

  // Polls health every 50 ms for up to `within`; the time it took, or
  // InfiniteDuration.
  absl::Duration TimeUntilServing(bool serving, absl::Duration within) {
    absl::Time start = absl::Now();
    while (absl::Now() - start < within) {
      if (Serving(cli_) == serving) return absl::Now() - start;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::InfiniteDuration();
  }

  // Every outcome of a run: only OK (verified) or UNAVAILABLE; some OK after
  // `recovered`; and the audit log holds one SignOfflineInvoice event per
  // call made since `events_before`.
  void ExpectHonestOutcomes(const std::vector<SigningLoad::Outcome>& outcomes,
                            absl::Time recovered, size_t events_before) {
    size_t ok = 0, unavailable = 0, ok_after = 0;
    for (const auto& o : outcomes) {
      if (o.code == grpc::StatusCode::OK) {
        EXPECT_TRUE(o.verified) << "a signature that does not verify";
        ++ok;
        if (o.at > recovered) ++ok_after;
        continue;
      }
      EXPECT_EQ(o.code, grpc::StatusCode::UNAVAILABLE) << o.message;
      EXPECT_NE(o.code, grpc::StatusCode::NOT_FOUND) << o.message;
      ++unavailable;
    }
    EXPECT_GT(ok_after, 0u) << "signing did not resume after recovery";
    // Aggregated counts are written when their window (1 s) is over.
    size_t events = SignEvents();
    for (int i = 0; i < 50 && events - events_before < outcomes.size(); ++i) {
      absl::SleepFor(absl::Milliseconds(100));
      events = SignEvents();
    }
    EXPECT_EQ(events - events_before, outcomes.size())
        << ok << " signed, " << unavailable << " unavailable; events by status code: "
        << EventsByCode();
  }

  // "code: events (count summed)" of every SignOfflineInvoice event, for a
  // failure message.
  std::string EventsByCode() {
    std::map<int, std::pair<int, int64_t>> by_code;
    for (const pb::AuditEvent& e : Events(cli_, "SignOfflineInvoice")) {
      auto& [n, sum] = by_code[e.status_code()];
      ++n;
      sum += std::max<int64_t>(1, e.count());
    }
    std::string out;
    for (const auto& [code, n] : by_code) {
      absl::StrAppend(&out, code, ": ", n.first, " (", n.second, ") ");
    }
    return out;
  }

  // The key made at start still exists and signs; nothing is reported missing.
  void ExpectKeysIntact() {
    pb::ConsistencyReport report;
    ASSERT_TRUE(
        Call([&](auto* ctx) { return cli_.keys->CheckConsistency(ctx, {}, &report); }).ok());
    EXPECT_EQ(report.missing_keys_size(), 0) << report.DebugString();
    pb::OfflineInvoiceCodes codes;
    grpc::Status s = Call(
        [&](auto* ctx) { return cli_.offline->SignOfflineInvoice(ctx, Invoice("keys/off-a", 7), &codes); });
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  // Calls that SignOfflineInvoice events stand for (failures while the token
  // is unavailable are aggregated: one event with a count).
  size_t SignEvents() {
    size_t calls = 0;
    for (const pb::AuditEvent& e : Events(cli_, "SignOfflineInvoice")) {
      calls += std::max<int64_t>(1, e.count());
    }
    return calls;
  }

  std::unique_ptr<ServerProcess> server_;
  Caller cli_;
  std::string spki_, fault_dir_;
};

// The directory that holds this token's objects (inside directories.tokendir).
std::string TokenObjectDir(const TestToken& token) {
  for (const auto& entry : std::filesystem::directory_iterator(token.token_dir())) {
    if (entry.is_directory()) return entry.path().string();
  }
  return "";
}

TEST_F(TokenFaultsE2eTest, TokenDirectoryMovedAwayAndBackUnderSigningLoad) {
  StartServer(/*faulty=*/false);
  const std::string objects = TokenObjectDir(*token_);
  ASSERT_FALSE(objects.empty());
  const size_t events_before = SignEvents();
  auto load = Load(8);
  absl::SleepFor(absl::Seconds(1));

  // Out of directories.tokendir: SoftHSM2 would find it under any name inside.
  const std::string away = dir_ + "/token-away";
  std::filesystem::rename(objects, away);
  absl::Duration down = TimeUntilServing(false, absl::Seconds(10) * TimeScale());
  EXPECT_LE(down, absl::Seconds(2) * TimeScale()) << "NOT_SERVING took " << down << "\n"
                                                  << server_->Log();
  // Nothing is created in a token that is not there (or not the expected one).
  pb::Key key;
  grpc::Status created = Call([&](auto* ctx) {
    return cli_.keys->CreateKey(ctx, KeyRequest("while-away", kNipA, pb::OFFLINE), &key);
  });
  EXPECT_EQ(created.error_code(), grpc::StatusCode::UNAVAILABLE) << created.error_message();
  absl::SleepFor(absl::Seconds(8));

  std::filesystem::rename(away, objects);
  absl::Time back = absl::Now();
  absl::Duration up = TimeUntilServing(true, absl::Seconds(20) * TimeScale());
  EXPECT_LE(up, absl::Seconds(5) * TimeScale()) << "SERVING took " << up << "\n" << server_->Log();
  std::cout << "token directory away: NOT_SERVING after " << down << "; back: SERVING after " << up
            << "\n";
  absl::SleepFor(absl::Seconds(1));
  load->Stop();
  ExpectHonestOutcomes(load->outcomes(), back + up, events_before);
  ExpectKeysIntact();
  EXPECT_TRUE(absl::StrContains(server_->Log(), "reconnected and logged in")) << server_->Log();
}

// Key objects that are not part of a complete key pair, as pkcs11-tool sees
// them on the token (independent of the server): a public key without a
// private key with its CKA_ID or the reverse, or an object without CKA_ID.
int IncompleteObjectsByPkcs11Tool(const TestToken& token, std::string* listing = nullptr) {
  std::string local;
  std::string& out = listing != nullptr ? *listing : local;
  // stdout alone (stderr would interleave with it); an object whose class
  // cannot be read shows as a warning on stderr, counted below.
  const std::string errors = token.dir() + "/pkcs11-tool.err";
  EXPECT_EQ(RunCommand(absl::StrCat("SOFTHSM2_CONF=", token.conf_path(), " pkcs11-tool --module ",
                                    TestToken::ModulePath(), " --token-label ", token.label(),
                                    " --login --pin ", token.pin(), " -O 2>", errors),
                       &out),
            0)
      << out;
  const std::string warnings = ReadFile(errors).value_or("");
  int unreadable = 0;
  for (size_t at = 0; (at = warnings.find("C_GetAttributeValue(CLASS) failed", at)) != std::string::npos;
       ++at) {
    ++unreadable;
  }
  std::map<std::string, int> pairs;  // CKA_ID -> +1 private, +2 public
  int without_id = 0;
  std::string kind;
  bool has_id = true;
  auto close = [&] {
    if (!kind.empty() && !has_id) ++without_id;
  };
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, "Private Key Object") || absl::StartsWith(line, "Public Key Object")) {
      close();
      kind = absl::StartsWith(line, "Private") ? "private" : "public";
      has_id = false;
    } else if (!absl::StartsWith(line, " ") && !line.empty()) {
      close();
      kind.clear();
    } else if (!kind.empty() && absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "ID:")) {
      has_id = true;
      std::string id(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
      pairs[id] += kind == "private" ? 1 : 2;
    }
  }
  close();
  int incomplete = without_id + unreadable;
  for (const auto& [id, mask] : pairs) incomplete += mask == 3 ? 0 : 1;
  return incomplete;
}

// N of the start-up's "removed N incomplete token object(s)" line, or 0.
int RemovedAtStart(const std::string& log) {
  const std::string what = "removed ";
  auto at = log.find(what);
  if (at == std::string::npos) return 0;
  at += what.size();
  int n = 0;
  return absl::SimpleAtoi(log.substr(at, log.find(' ', at) - at), &n) ? n : 0;
}

TEST_F(TokenFaultsE2eTest, SigkillDuringCreateKeyLeavesNoIncompleteObjectAfterTheNextStart) {
  std::mutex mu;
  std::vector<std::string> told;  // keys callers were told exist
  int debris_seen = 0, debris_removed = 0;
  std::mt19937 random(13);
  for (int round = 0; round < 20; ++round) {
    const std::string log = absl::StrCat(dir_, "/server-", round, ".log");
    auto server = ServerProcess::Start(config_, log);
    ASSERT_TRUE(server.ok()) << server.status();
    debris_removed += RemovedAtStart((*server)->Log());
    std::atomic<bool> stop{false};
    std::vector<std::thread> creators;
    for (int t = 0; t < 2; ++t) {
      creators.emplace_back([&, t] {
        Caller c = Connect((*server)->port(), "client");
        for (int n = 0; !stop; ++n) {
          const std::string id = absl::StrCat("r", round, "-t", t, "-", n);
          pb::Key key;
          grpc::Status s = Call([&](auto* ctx) {
            return c.keys->CreateKey(ctx, KeyRequest(id, kNipA, pb::OFFLINE), &key);
          });
          if (!s.ok()) return;  // the server is gone
          std::lock_guard<std::mutex> lock(mu);
          told.push_back(key.name());
        }
      });
    }
    absl::SleepFor(absl::Milliseconds(100 + random() % 400));
    (*server)->Stop(SIGKILL);
    stop = true;
    for (auto& c : creators) c.join();
    debris_seen += IncompleteObjectsByPkcs11Tool(*token_);
  }
  auto server = ServerProcess::Start(config_, dir_ + "/server-final.log");
  ASSERT_TRUE(server.ok()) << server.status();
  debris_removed += RemovedAtStart((*server)->Log());
  Caller cli = Connect((*server)->port(), "client");
  pb::ConsistencyReport report;
  ASSERT_TRUE(Call([&](auto* ctx) { return cli.keys->CheckConsistency(ctx, {}, &report); }).ok());
  EXPECT_EQ(report.incomplete_token_objects_size(), 0) << report.DebugString();
  EXPECT_EQ(report.unknown_token_keys_size(), 0) << report.DebugString();
  EXPECT_EQ(report.missing_keys_size(), 0) << report.DebugString();
  std::string listing;
  EXPECT_EQ(IncompleteObjectsByPkcs11Tool(*token_, &listing), 0) << listing;
  for (const std::string& name : told) {
    pb::GetKeyRequest req;
    req.set_name(name);
    pb::Key key;
    grpc::Status s = Call([&](auto* ctx) { return cli.keys->GetKey(ctx, req, &key); });
    EXPECT_TRUE(s.ok()) << name << ": " << s.error_message();
  }
  std::cout << told.size() << " keys created in 20 rounds; incomplete objects after the kills: "
            << debris_seen << ", removed at the next starts: " << debris_removed << "\n";
  // What must hold is checked above: nothing incomplete after the last
  // start. The two counts are not comparable one to one (pkcs11-tool groups
  // a pair's objects by CKA_ID and reads the token after the kill, the
  // server counts objects it can read at its start; CI saw 10 removed for 11
  // counted with a clean final token), so only this: when kills left debris,
  // the start-up removal did run.
  if (debris_seen > 0) {
    EXPECT_GT(debris_removed, 0) << "incomplete objects were left, none removed at a start";
  }
}

TEST_F(TokenFaultsE2eTest, ANetworkHsmsLatencyUnderEightSignersOnlySlowsSigning) {
  StartServer(/*faulty=*/true);
  std::ofstream(fault_dir_ + "/sign-latency-us") << "3000\n";  // 3 ms per C_Sign
  absl::SleepFor(absl::Milliseconds(200));                       // the module re-reads it
  const size_t events_before = SignEvents();
  const absl::Time start = absl::Now();
  auto load = Load(8);
  absl::SleepFor(absl::Seconds(2));
  load->Stop();
  std::vector<SigningLoad::Outcome> outcomes = load->outcomes();
  for (const auto& o : outcomes) {
    EXPECT_EQ(o.code, grpc::StatusCode::OK) << o.message;
    EXPECT_TRUE(o.verified);
  }
  ExpectHonestOutcomes(outcomes, start, events_before);
  EXPECT_TRUE(Serving(cli_));
  std::cout << outcomes.size() << " signatures in 2 s by 8 callers with 3 ms per C_Sign\n";
}

// One device fault of the fault module under 8 concurrent signers.
struct FaultCase {
  const char* name;
  const char* file;     // control file in KSEF_FAULT_PKCS11_DIR
  bool sticky;          // removed by the test (else the module consumes it)
  bool needs_reinit;    // the module must be finalized and initialized again
};

class DeviceFaultTest : public TokenFaultsE2eTest,
                        public ::testing::WithParamInterface<FaultCase> {};

TEST_P(DeviceFaultTest, EightSignersSeeOnlyUnavailableAndTheServiceRecoversWithoutRestart) {
  const FaultCase& fault = GetParam();
  StartServer(/*faulty=*/true);
  const size_t events_before = SignEvents();
  auto load = Load(8);
  absl::SleepFor(absl::Milliseconds(500));

  const std::string control = absl::StrCat(fault_dir_, "/", fault.file);
  std::ofstream(control) << "1\n";
  if (fault.sticky) {
    absl::Duration down = TimeUntilServing(false, absl::Seconds(10) * TimeScale());
    EXPECT_LE(down, absl::Seconds(2) * TimeScale()) << "NOT_SERVING took " << down;
    absl::SleepFor(absl::Seconds(1));
    std::filesystem::remove(control);
  } else {
    absl::Time start = absl::Now();
    while (std::filesystem::exists(control) && absl::Now() - start < absl::Seconds(10)) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_FALSE(std::filesystem::exists(control)) << "the fault never fired";
  }
  absl::Time cleared = absl::Now();
  absl::Duration up = TimeUntilServing(true, absl::Seconds(20) * TimeScale());
  EXPECT_LE(up, absl::Seconds(5) * TimeScale()) << "SERVING took " << up << "\n" << server_->Log();
  std::cout << fault.name << ": SERVING " << up << " after the fault cleared\n";
  absl::SleepFor(absl::Seconds(1));
  load->Stop();
  ExpectHonestOutcomes(load->outcomes(), cleared + up, events_before);
  ExpectKeysIntact();
  if (fault.needs_reinit) {
    std::string events = ReadFile(fault_dir_ + "/events.log").value_or("");
    EXPECT_TRUE(absl::StrContains(events, "reinserted")) << events;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Faults, DeviceFaultTest,
    ::testing::Values(FaultCase{"InvalidateSessions", "invalidate-sessions", false, false},
                      FaultCase{"Logout", "logout", false, false},
                      FaultCase{"RemovedUntilReinitialized", "remove", true, true},
                      FaultCase{"BufferTooSmallOnce", "buffer-too-small", false, false},
                      FaultCase{"Outage", "outage", true, false}),
    [](const ::testing::TestParamInfo<FaultCase>& info) { return info.param.name; });

}  // namespace
}  // namespace ksef
