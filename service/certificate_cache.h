// CertificateCache: what signing needs from a key's certificate (serial,
// fingerprint, the XAdES certificate parts), computed once per certificate
// so the signing hot path never re-parses it. Certificates never change, so
// entries never go stale; the cache is bounded. Thread-safe.
#ifndef KSEF_SERVICE_CERTIFICATE_CACHE_H_
#define KSEF_SERVICE_CERTIFICATE_CACHE_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "formats/xades/xades_certificate.h"

namespace ksef::service {

struct CachedCertificate {
  xades::XadesCertificate xades;
  std::string serial_hex;  // 16 uppercase hex for KSeF certificates
  std::string sha256_fingerprint;
};

class CertificateCache {
 public:
  // INVALID_ARGUMENT if `der` is not a certificate.
  absl::StatusOr<std::shared_ptr<const CachedCertificate>> Get(const std::string& der);

 private:
  static constexpr size_t kMaxEntries = 4096;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const CachedCertificate>> entries_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_CERTIFICATE_CACHE_H_
