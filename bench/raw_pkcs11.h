// Raw PKCS#11 for the benchmarks' baselines: the module's own function list,
// sessions and a key handle of our own, without the service's pool, locks or
// checks. Aborts on failure (a benchmark without its baseline means nothing).
//
// Documented exception to the layering (docs/architecture.md): the raw
// baseline includes the PKCS#11 C header itself. It must never include
// pkcs11/internal/; the service side of a benchmark uses pkcs11/hsm.h only.
#ifndef KSEF_BENCH_RAW_PKCS11_H_
#define KSEF_BENCH_RAW_PKCS11_H_

#include <p11-kit/pkcs11.h>

#include <functional>
#include <string>
#include <vector>

namespace ksef::bench {

// The function list of the module at `module_path`, which the benchmark's
// pkcs11::Hsm has already loaded and initialized (dlopen hands back the same
// library; no C_Initialize here, and the library stays loaded).
CK_FUNCTION_LIST* RawFunctionList(const std::string& module_path);

// `n` read-write sessions on the token labelled `label` (the application is
// already logged in through the service's Hsm, so they see private keys).
std::vector<CK_SESSION_HANDLE> OpenRawSessions(CK_FUNCTION_LIST* f, const std::string& label,
                                               int n);

// The private key with this CKA_ID.
CK_OBJECT_HANDLE FindKey(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE session, const std::string& id);

// Fills the token labelled `label` with `count` EC P-256 key pairs, as a
// plain PKCS#11 keygen loop would (no service involved): CKA_ID 16 random
// bytes from C_GenerateRandom, CKA_LABEL `label_prefix` + number, the
// private key sensitive, non-extractable and sign-only. Runs its own
// C_Initialize, C_Login and C_Finalize (no other user of the module in this
// process meanwhile). `progress(done)` is called every 500 pairs.
void GenerateKeyPairs(const std::string& module_path, const std::string& label,
                      const std::string& pin, const std::string& label_prefix, int count,
                      const std::function<void(int)>& progress);

}  // namespace ksef::bench

#endif  // KSEF_BENCH_RAW_PKCS11_H_
