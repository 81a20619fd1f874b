// sign_bench: the cost of our signing path over raw PKCS#11, measured in the
// same run on the same SoftHSM2 token.
//
//   raw:    C_SignInit + C_Sign on one pre-opened session and a known handle
//   signer: pkcs11::Pkcs11Signer::SignDigest (sign slot, session lease, cached
//           handle, length checks)
//
// Prints ops/s for both and the ratio signer/raw (1.00 = no overhead) for
// each thread count, and how many keys were generated while the signer case
// ran (key creation must not be starved by steady signing).
//
// Run: build/bench/sign_bench [seconds_per_case] [threads,...]   (default 2 s; 1,2)
// Environment:
//   KSEF_BENCH_PKCS11_MODULE  module to load instead of SoftHSM2 (e.g. the
//       fault module build/tests/libksef_fault_pkcs11.so, which forwards to
//       KSEF_FAULT_PKCS11_MODULE and adds KSEF_FAULT_PKCS11_DIR/sign-latency-us
//       per C_Sign: a network HSM; docs/performance.md)
//   KSEF_BENCH_MAX_SIGNS      max_concurrent_signs of the signer (default 8)
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/raw_pkcs11.h"
#include "pkcs11/hsm.h"
#include "tests/support/softhsm_token.h"

namespace {

using ksef::crypto::KeyAlgorithm;
using ksef::crypto::SignatureScheme;

template <typename Fn>
double OpsPerSecond(int threads, absl::Duration duration, Fn fn) {
  std::atomic<long> ops{0};
  absl::Time end = absl::Now() + duration;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      long n = 0;
      while (absl::Now() < end) {
        if (!fn(t)) std::abort();
        ++n;
      }
      ops += n;
    });
  }
  for (auto& th : pool) th.join();
  return ops.load() / absl::ToDoubleSeconds(duration);
}

std::vector<int> ThreadCounts(int argc, char** argv) {
  std::vector<int> out;
  if (argc > 2) {
    for (absl::string_view part : absl::StrSplit(argv[2], ',')) {
      int n = 0;
      if (absl::SimpleAtoi(part, &n) && n > 0) out.push_back(n);
    }
  }
  if (out.empty()) out = {1, 2};
  return out;
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  int n = 0;
  return v != nullptr && absl::SimpleAtoi(v, &n) && n > 0 ? n : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  absl::Duration per_case = absl::Seconds(argc > 1 ? std::atof(argv[1]) : 2.0);
  std::vector<int> thread_counts = ThreadCounts(argc, argv);
  int max_threads = *std::max_element(thread_counts.begin(), thread_counts.end());
  auto token = ksef::testing::TestToken::Create("bench");
  if (!token.ok()) {
    std::fprintf(stderr, "%s\n", token.status().ToString().c_str());
    return 1;
  }
  const char* override_module = std::getenv("KSEF_BENCH_PKCS11_MODULE");
  std::string module_path =
      override_module != nullptr ? override_module : ksef::testing::TestToken::ModulePath();
  ksef::pkcs11::HsmOptions options;
  options.module_path = module_path;
  options.token_label = (*token)->label();
  options.pin = ksef::SecureString((*token)->pin());
  options.session_pool_size = max_threads + 2;
  options.max_concurrent_signs = EnvInt("KSEF_BENCH_MAX_SIGNS", 8);
  auto hsm = ksef::pkcs11::Hsm::Open(std::move(options));
  if (!hsm.ok()) {
    std::fprintf(stderr, "%s\n", hsm.status().ToString().c_str());
    return 1;
  }
  ksef::pkcs11::KeyStore& store = (*hsm)->keys();
  auto key = store.Generate(KeyAlgorithm::kEcP256, "bench");
  auto signer = store.GetSigner(key->id);
  unsigned char digest[32];
  SHA256(reinterpret_cast<const unsigned char*>("bench"), 5, digest);
  std::string d(reinterpret_cast<char*>(digest), 32);

  CK_FUNCTION_LIST* f = ksef::bench::RawFunctionList(module_path);
  std::vector<CK_SESSION_HANDLE> sessions = ksef::bench::OpenRawSessions(f, (*token)->label(), max_threads);
  CK_OBJECT_HANDLE handle = ksef::bench::FindKey(f, sessions[0], key->id);
  auto raw = [&](int t) {
    CK_MECHANISM mech{CKM_ECDSA, nullptr, 0};
    unsigned char sig[64];
    CK_ULONG len = sizeof(sig);
    return f->C_SignInit(sessions[t], &mech, handle) == CKR_OK &&
           f->C_Sign(sessions[t], digest, 32, sig, &len) == CKR_OK && len == 64;
  };
  auto ours = [&](int) { return (*signer)->SignDigest(SignatureScheme::kEcdsaSha256, d).ok(); };

  std::printf("module: %s\n", (*hsm)->module_description().c_str());
  std::printf("%-8s %12s %12s %7s %18s %10s\n", "threads", "raw ops/s", "signer ops/s",
              "ratio", "signer+keygen ops/s", "keys made");
  for (int threads : thread_counts) {
    double r = OpsPerSecond(threads, per_case, raw);
    double s = OpsPerSecond(threads, per_case, ours);
    // Key creation beside steady signing: keys made during the case (the
    // object lock is writer-fair, so this must not be 0).
    std::atomic<bool> done{false};
    std::atomic<int> made{0};
    std::thread creator([&] {
      while (!done) {
        if (!store.Generate(KeyAlgorithm::kEcP256, "bench-made").ok()) std::abort();
        ++made;
      }
    });
    double sk = OpsPerSecond(threads, per_case, ours);
    done = true;
    creator.join();
    std::printf("%-8d %12.0f %12.0f %7.3f %18.0f %10d\n", threads, r, s, s / r, sk, made.load());
  }
  for (CK_SESSION_HANDLE h : sessions) f->C_CloseSession(h);
  return 0;
}
