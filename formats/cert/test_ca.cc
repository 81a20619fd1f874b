#include "formats/cert/test_ca.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/openssl_ptr.h"
#include "common/status_macros.h"
#include "formats/cert/certificate_builder.h"

namespace ksef::cert {
namespace {

using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ, X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;

constexpr char kKeyFile[] = "test-ca-key.pem";
constexpr char kCertFile[] = "test-ca-cert.pem";

absl::StatusOr<std::string> CaNameDer() {
  X509NamePtr name(X509_NAME_new());
  const std::pair<const char*, const char*> rdns[] = {
      {"C", "PL"},
      {"O", "ksef-hsm"},
      {"OU", "LOCAL TEST CA - NOT KSeF"},
      {"CN", "ksef-hsm local test CA (NOT KSeF)"},
  };
  for (const auto& [field, value] : rdns) {
    if (X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value), -1, -1,
                                   0) != 1) {
      return absl::InternalError(OpenSslError("test CA name"));
    }
  }
  unsigned char* der = nullptr;
  int len = i2d_X509_NAME(name.get(), &der);
  if (len <= 0) return absl::InternalError(OpenSslError("test CA name"));
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::Status WriteNewFile(const std::string& path, absl::string_view content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> GenerateP256Pem() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return absl::InternalError(OpenSslError("test CA key generation"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError(OpenSslError("test CA key encoding"));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// CSR bytes -> DER: DER as is, PEM block, or Base64.
absl::StatusOr<std::string> CsrDer(absl::string_view csr) {
  if (!csr.empty() && static_cast<unsigned char>(csr[0]) == 0x30) return std::string(csr);
  std::string body(csr);
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE REQUEST-----";
  constexpr std::string_view kEnd = "-----END CERTIFICATE REQUEST-----";
  if (size_t b = body.find(kBegin); b != std::string::npos) {
    size_t e = body.find(kEnd, b);
    if (e == std::string::npos) return absl::InvalidArgumentError("CSR: PEM block has no END line");
    body = body.substr(b + kBegin.size(), e - b - kBegin.size());
  }
  std::string compact;
  for (char c : body) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact.push_back(c);
  }
  auto der = Base64Decode(compact);
  if (!der || der->empty()) {
    return absl::InvalidArgumentError("CSR: neither DER, PEM nor Base64 DER");
  }
  return *der;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestCa>> TestCa::CreateInMemory() {
  KSEF_ASSIGN_OR_RETURN(std::string key_pem, GenerateP256Pem());
  std::unique_ptr<TestCa> ca(new TestCa());
  KSEF_ASSIGN_OR_RETURN(ca->signer_, crypto::SoftwareSigner::FromPrivateKey(key_pem));
  KSEF_ASSIGN_OR_RETURN(ca->name_der_, CaNameDer());
  CertificateFields fields;
  fields.serial = RandomSerial();
  fields.issuer_name_der = fields.subject_name_der = ca->name_der_;
  fields.subject_public_key_der = ca->signer_->public_key_der();
  fields.not_before = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) - absl::Hours(1);
  fields.not_after = fields.not_before + absl::Hours(24 * 3650);
  fields.is_ca = true;
  KSEF_ASSIGN_OR_RETURN(ca->certificate_der_,
                        BuildCertificateDer(fields, fields.subject_public_key_der, *ca->signer_));
  ca->key_pem_ = SecureString(std::move(key_pem));
  return ca;
}

absl::StatusOr<std::unique_ptr<TestCa>> TestCa::OpenOrCreate(const std::string& dir) {
  const std::string key_path = dir + "/" + kKeyFile;
  const std::string cert_path = dir + "/" + kCertFile;
  std::error_code ec;
  if (!std::filesystem::exists(key_path, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create test CA directory ", dir, ": ", ec.message()));
    }
    KSEF_ASSIGN_OR_RETURN(std::unique_ptr<TestCa> ca, CreateInMemory());
    KSEF_RETURN_IF_ERROR(WriteNewFile(key_path, ca->key_pem_.reveal(), 0600));
    KSEF_RETURN_IF_ERROR(WriteNewFile(cert_path, CertificateToPem(ca->certificate_der_), 0644));
    return ca;
  }
  KSEF_ASSIGN_OR_RETURN(SecureString key_pem, ReadSecretFile(key_path));
  KSEF_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(cert_path));
  std::unique_ptr<TestCa> ca(new TestCa());
  KSEF_ASSIGN_OR_RETURN(ca->signer_, crypto::SoftwareSigner::FromPrivateKey(key_pem.reveal()));
  KSEF_ASSIGN_OR_RETURN(ca->certificate_der_, DecodeCertificateInput(cert_pem));
  KSEF_ASSIGN_OR_RETURN(CertificateInfo info, ParseCertificateDer(ca->certificate_der_));
  if (info.public_key_der != ca->signer_->public_key_der()) {
    return absl::FailedPreconditionError(
        absl::StrCat(cert_path, " does not belong to ", key_path));
  }
  ca->name_der_ = info.subject_name_der;
  ca->key_pem_ = std::move(key_pem);
  return ca;
}

absl::StatusOr<std::string> TestCa::Issue(absl::string_view csr, CertificateType type,
                                          absl::Time not_before, absl::Duration validity) {
  if (validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("validity must be positive");
  }
  KSEF_ASSIGN_OR_RETURN(std::string der, CsrDer(csr));
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError(OpenSslError("CSR: not a DER PKCS#10 request"));
  }
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (pub == nullptr || X509_REQ_verify(req.get(), pub) != 1) {
    return absl::InvalidArgumentError(OpenSslError("CSR: signature does not verify"));
  }
  CertificateFields fields;
  fields.serial = RandomSerial();
  fields.issuer_name_der = name_der_;
  const unsigned char* name_der = nullptr;
  size_t name_len = 0;
  if (X509_NAME_get0_der(X509_REQ_get_subject_name(req.get()), &name_der, &name_len) != 1) {
    return absl::InvalidArgumentError("CSR: unreadable subject");
  }
  fields.subject_name_der.assign(reinterpret_cast<const char*>(name_der), name_len);
  unsigned char* spki = nullptr;
  int spki_len = i2d_PUBKEY(pub, &spki);
  if (spki_len <= 0) return absl::InvalidArgumentError("CSR: unreadable public key");
  fields.subject_public_key_der.assign(reinterpret_cast<char*>(spki),
                                       static_cast<size_t>(spki_len));
  OPENSSL_free(spki);
  fields.not_before = absl::FromUnixSeconds(absl::ToUnixSeconds(not_before));
  fields.not_after = fields.not_before + validity;
  fields.type = type;
  return BuildCertificateDer(fields, signer_->public_key_der(), *signer_);
}

}  // namespace ksef::cert
