#include "service/certificate_cache.h"

#include "common/status_macros.h"
#include "formats/cert/certificate_info.h"

namespace ksef::service {

absl::StatusOr<std::shared_ptr<const CachedCertificate>> CertificateCache::Get(
    const std::string& der) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(der);
    if (it != entries_.end()) return it->second;
  }
  KSEF_ASSIGN_OR_RETURN(cert::CertificateInfo info, cert::ParseCertificateDer(der));
  auto entry = std::make_shared<const CachedCertificate>(CachedCertificate{
      xades::XadesCertificate::FromCertificate(info), info.serial_hex, info.sha256_fingerprint});
  absl::MutexLock lock(&mu_);
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_.emplace(der, entry);
  return entry;
}

}  // namespace ksef::service
