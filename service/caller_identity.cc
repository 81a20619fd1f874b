#include "service/caller_identity.h"

#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/encoding.h"
#include "common/openssl_ptr.h"
#include "formats/cert/certificate_info.h"

namespace ksef::service {
namespace {

using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

std::string Asn1String(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::vector<std::string> SansOf(X509* x509) {
  std::vector<std::string> out;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x509, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    switch (name->type) {
      case GEN_DNS:
        out.push_back(absl::StrCat("dns:", Asn1String(name->d.dNSName)));
        break;
      case GEN_URI:
        out.push_back(absl::StrCat("uri:", Asn1String(name->d.uniformResourceIdentifier)));
        break;
      case GEN_EMAIL:
        out.push_back(absl::StrCat("email:", Asn1String(name->d.rfc822Name)));
        break;
      case GEN_IPADD: {
        const std::string raw = Asn1String(name->d.iPAddress);
        if (raw.size() == 4) {
          out.push_back(absl::StrCat("ip:", static_cast<uint8_t>(raw[0]), ".",
                                     static_cast<uint8_t>(raw[1]), ".",
                                     static_cast<uint8_t>(raw[2]), ".",
                                     static_cast<uint8_t>(raw[3])));
        }
        break;
      }
      default:
        break;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<CallerCertificate> CallerFromPem(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr x509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x509) return absl::InvalidArgumentError("client certificate is unreadable");
  unsigned char* der = nullptr;
  int len = i2d_X509(x509.get(), &der);
  if (len <= 0) return absl::InvalidArgumentError("client certificate is unreadable");
  std::string der_bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  auto info = cert::ParseCertificateDer(der_bytes);
  if (!info.ok()) return info.status();
  CallerCertificate caller;
  caller.subject = info->subject;
  caller.issuer = info->issuer;
  caller.serial = info->serial_hex;
  caller.sans = SansOf(x509.get());
  return caller;
}

std::optional<CallerCertificate> CallerOf(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return std::nullopt;
  std::vector<grpc::string_ref> pems = auth->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return std::nullopt;
  std::string pem(pems.front().data(), pems.front().size());
  // A handful of callers make every call: parse each certificate once.
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache = new absl::flat_hash_map<std::string, CallerCertificate>();
  {
    absl::MutexLock lock(&mu);
    auto it = cache->find(pem);
    if (it != cache->end()) return it->second;
  }
  auto caller = CallerFromPem(pem);
  if (!caller.ok()) return std::nullopt;
  absl::MutexLock lock(&mu);
  if (cache->size() >= 1024) cache->clear();
  cache->emplace(std::move(pem), *caller);
  return *caller;
}

}  // namespace ksef::service
