#include "service/certificate_cache.h"

#include <openssl/x509v3.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/openssl_ptr.h"
#include "common/status_macros.h"

namespace ksef::service {
namespace {

using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

std::string Asn1String(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::optional<std::string> SanText(const GENERAL_NAME* name) {
  switch (name->type) {
    case GEN_DNS:
      return absl::StrCat("dns:", Asn1String(name->d.dNSName));
    case GEN_URI:
      return absl::StrCat("uri:", Asn1String(name->d.uniformResourceIdentifier));
    case GEN_EMAIL:
      return absl::StrCat("email:", Asn1String(name->d.rfc822Name));
    case GEN_IPADD: {
      const std::string raw = Asn1String(name->d.iPAddress);
      if (raw.size() != 4) return std::nullopt;
      return absl::StrCat("ip:", static_cast<uint8_t>(raw[0]), ".", static_cast<uint8_t>(raw[1]),
                          ".", static_cast<uint8_t>(raw[2]), ".", static_cast<uint8_t>(raw[3]));
    }
    default:
      return std::nullopt;
  }
}

// The subjectAltNames of a certificate that ParseCertificateDer accepted.
std::vector<std::string> SansOf(const std::string& der) {
  std::vector<std::string> out;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x509) return out;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x509.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    if (auto text = SanText(sk_GENERAL_NAME_value(names.get(), i))) out.push_back(*text);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CachedCertificate>> CertificateCache::Get(
    const std::string& der) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(der);
    if (it != entries_.end()) return it->second;
  }
  KSEF_ASSIGN_OR_RETURN(cert::CertificateInfo info, cert::ParseCertificateDer(der));
  xades::XadesCertificate xades = xades::XadesCertificate::FromCertificate(info);
  auto entry = std::make_shared<const CachedCertificate>(
      CachedCertificate{std::move(info), std::move(xades), SansOf(der)});
  absl::MutexLock lock(&mu_);
  Put(entries_, der, entry);
  return entry;
}

absl::StatusOr<std::shared_ptr<const CachedCertificate>> CertificateCache::GetPem(
    absl::string_view pem) {
  {
    absl::MutexLock lock(&mu_);
    auto it = pem_entries_.find(pem);
    if (it != pem_entries_.end()) return it->second;
  }
  KSEF_ASSIGN_OR_RETURN(std::string der, cert::DecodeCertificateInput(pem));
  KSEF_ASSIGN_OR_RETURN(std::shared_ptr<const CachedCertificate> entry, Get(der));
  absl::MutexLock lock(&mu_);
  Put(pem_entries_, std::string(pem), entry);
  return entry;
}

void CertificateCache::Put(Entries& map, std::string key,
                           std::shared_ptr<const CachedCertificate> entry) {
  if (map.size() >= kMaxEntries) map.clear();
  map.emplace(std::move(key), std::move(entry));
}

}  // namespace ksef::service
