// sign_bench: the cost of our signing path over raw PKCS#11, measured in the
// same run on the same SoftHSM2 token.
//
//   raw:    C_SignInit + C_Sign on one pre-opened session and a known handle
//   signer: hsm::Pkcs11Signer::SignDigest (sign slot, session lease, cached
//           handle, length checks)
//
// Prints ops/s for both and the ratio signer/raw (1.00 = no overhead), for 1
// and 2 threads. Run: build/bench/sign_bench [seconds_per_case]
#include <openssl/sha.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "hsm/key_store.h"
#include "hsm/module.h"
#include "hsm/objects.h"
#include "hsm/token.h"
#include "tests/support/softhsm_token.h"

namespace {

using namespace ksef::hsm;

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

}  // namespace

int main(int argc, char** argv) {
  absl::Duration per_case = absl::Seconds(argc > 1 ? std::atof(argv[1]) : 2.0);
  auto token = ksef::testing::TestToken::Create("bench");
  if (!token.ok()) {
    std::fprintf(stderr, "%s\n", token.status().ToString().c_str());
    return 1;
  }
  auto module = Module::Load(ksef::testing::TestToken::ModulePath());
  auto tok = Token::Open(module->get(), TokenSelector{(*token)->label(), ""},
                         ksef::SecureString((*token)->pin()), 8);
  if (!tok.ok()) return 1;
  KeyStore store(tok->get(), "", 8);
  auto key = store.Generate(KeyAlgorithm::kEcP256, "bench");
  auto signer = store.GetSigner(key->id);
  unsigned char digest[32];
  SHA256(reinterpret_cast<const unsigned char*>("bench"), 5, digest);
  std::string d(reinterpret_cast<char*>(digest), 32);

  CK_FUNCTION_LIST* f = (*tok)->f();
  std::vector<SessionLease> sessions;
  for (int i = 0; i < 2; ++i) sessions.push_back(std::move(*(*tok)->Lease()));
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_OBJECT_HANDLE handle =
      FindObjects(f, sessions[0].get(), {Attr(CKA_CLASS, &cls), BytesAttr(CKA_ID, key->id)})
          ->front();
  auto raw = [&](int t) {
    CK_MECHANISM mech{CKM_ECDSA, nullptr, 0};
    unsigned char sig[64];
    CK_ULONG len = sizeof(sig);
    return f->C_SignInit(sessions[t].get(), &mech, handle) == CKR_OK &&
           f->C_Sign(sessions[t].get(), digest, 32, sig, &len) == CKR_OK && len == 64;
  };
  auto ours = [&](int) { return (*signer)->SignDigest(SignatureScheme::kEcdsaSha256, d).ok(); };

  std::printf("%-8s %14s %14s %8s\n", "threads", "raw ops/s", "signer ops/s", "ratio");
  for (int threads : {1, 2}) {
    double r = OpsPerSecond(threads, per_case, raw);
    double s = OpsPerSecond(threads, per_case, ours);
    std::printf("%-8d %14.0f %14.0f %8.3f\n", threads, r, s, s / r);
  }
  sessions.clear();
  return 0;
}
