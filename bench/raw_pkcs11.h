// Raw PKCS#11 for the benchmarks' baselines: sessions and a key handle of
// our own, without the service's pool, locks or checks. Aborts on failure
// (a benchmark without its baseline means nothing).
#ifndef KSEF_BENCH_RAW_PKCS11_H_
#define KSEF_BENCH_RAW_PKCS11_H_

#include <string>
#include <vector>

#include "pkcs11/pkcs11_api.h"

namespace ksef::bench {

// `n` read-write sessions on the token labelled `label` (the application is
// already logged in through the service's Token, so they see private keys).
std::vector<CK_SESSION_HANDLE> OpenRawSessions(CK_FUNCTION_LIST* f, const std::string& label,
                                               int n);

// The private key with this CKA_ID.
CK_OBJECT_HANDLE FindKey(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE session, const std::string& id);

}  // namespace ksef::bench

#endif  // KSEF_BENCH_RAW_PKCS11_H_
