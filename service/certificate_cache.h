// CertificateCache: every certificate the service reads (the certificates
// beside its keys, the client certificates of its callers) parsed once:
// validity, serial, fingerprint, subject/issuer, subjectAltNames and the
// XAdES certificate parts. The server constructs one and hands it to
// KeyManager, SigningGate and AccessGuard, so neither the signing hot path
// nor a call's identity check ever re-parses a certificate. Certificates
// never change, so entries never go stale; the cache is bounded. Thread-safe.
#ifndef KSEF_SERVICE_CERTIFICATE_CACHE_H_
#define KSEF_SERVICE_CERTIFICATE_CACHE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "formats/cert/certificate_info.h"
#include "formats/xades/xades_certificate.h"

namespace ksef::service {

struct CachedCertificate {
  cert::CertificateInfo info;  // serial_hex, sha256_fingerprint, not_before/not_after, ...
  xades::XadesCertificate xades;
  std::vector<std::string> sans;  // "dns:...", "uri:...", "email:...", "ip:a.b.c.d"
};

class CertificateCache {
 public:
  // INVALID_ARGUMENT if `der` is not a certificate (cert::ParseCertificateDer).
  absl::StatusOr<std::shared_ptr<const CachedCertificate>> Get(const std::string& der);
  // The same for a PEM certificate (what gRPC reports of a caller): a PEM
  // seen before is neither decoded nor parsed again. INVALID_ARGUMENT if it
  // is not one PEM certificate.
  absl::StatusOr<std::shared_ptr<const CachedCertificate>> GetPem(absl::string_view pem);

 private:
  static constexpr size_t kMaxEntries = 4096;
  using Entries = absl::flat_hash_map<std::string, std::shared_ptr<const CachedCertificate>>;
  // Adds `entry` under `key`, first emptying `map` when it is full.
  static void Put(Entries& map, std::string key, std::shared_ptr<const CachedCertificate> entry);

  absl::Mutex mu_;
  Entries entries_ ABSL_GUARDED_BY(mu_);      // by DER
  Entries pem_entries_ ABSL_GUARDED_BY(mu_);  // by PEM text
};

}  // namespace ksef::service

#endif  // KSEF_SERVICE_CERTIFICATE_CACHE_H_
