#include "formats/cert/certificate_builder.h"

#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/openssl_ptr.h"
#include "common/status_macros.h"
#include "formats/csr/asn1_der.h"
#include "formats/csr/signed_structure.h"

namespace ksef::cert {
namespace {

using csr::DerTlv;

constexpr uint8_t kTagBoolean = 0x01;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagUtcTime = 0x17;
constexpr uint8_t kTagGeneralizedTime = 0x18;
constexpr uint8_t kTagContext0Explicit = 0xa0;
constexpr uint8_t kTagContext3Explicit = 0xa3;
constexpr uint8_t kTagContext0Implicit = 0x80;

// Extension OIDs (2.5.29.x), DER content bytes.
constexpr char kOidSubjectKeyId[] = "\x55\x1d\x0e";
constexpr char kOidKeyUsage[] = "\x55\x1d\x0f";
constexpr char kOidBasicConstraints[] = "\x55\x1d\x13";
constexpr char kOidAuthorityKeyId[] = "\x55\x1d\x23";

std::string Extension(absl::string_view oid, bool critical, absl::string_view value) {
  std::string content = DerTlv(csr::kTagOid, oid);
  if (critical) content += DerTlv(kTagBoolean, "\xff");
  content += DerTlv(kTagOctetString, value);
  return DerTlv(csr::kTagSequence, content);
}

std::string Time(absl::Time t) {
  const absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (c.year() >= 1950 && c.year() <= 2049) {
    return DerTlv(kTagUtcTime, absl::FormatTime("%y%m%d%H%M%SZ", t, absl::UTCTimeZone()));
  }
  return DerTlv(kTagGeneralizedTime, absl::FormatTime("%Y%m%d%H%M%SZ", t, absl::UTCTimeZone()));
}

// SHA-1 of the subjectPublicKey BIT STRING content (RFC 5280 4.2.1.2 (1)).
absl::StatusOr<std::string> KeyIdentifier(absl::string_view spki_der, absl::string_view what) {
  const auto* p = reinterpret_cast<const unsigned char*>(spki_der.data());
  std::unique_ptr<X509_PUBKEY, OpenSslDeleter<X509_PUBKEY, X509_PUBKEY_free>> pub(
      d2i_X509_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!pub || p != reinterpret_cast<const unsigned char*>(spki_der.data()) + spki_der.size()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a DER SubjectPublicKeyInfo"));
  }
  const unsigned char* key = nullptr;
  int key_len = 0;
  if (X509_PUBKEY_get0_param(nullptr, &key, &key_len, nullptr, pub.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": unreadable public key"));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(key, static_cast<size_t>(key_len), digest, &digest_len, EVP_sha1(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), digest_len);
}

std::string KeyUsageBits(const CertificateFields& f) {
  // Named BIT STRING, trailing zero bits dropped (X.690 11.2.2).
  if (f.is_ca) return std::string("\x03\x02\x01\x06", 4);  // keyCertSign, cRLSign
  if (f.type == CertificateType::kAuthentication) {
    return std::string("\x03\x02\x07\x80", 4);  // digitalSignature
  }
  return std::string("\x03\x02\x06\x40", 4);  // nonRepudiation
}

}  // namespace

absl::StatusOr<std::string> BuildCertificateDer(const CertificateFields& f,
                                                absl::string_view issuer_spki_der,
                                                const crypto::Signer& issuer) {
  if (f.serial.empty() || f.serial.size() > 20 ||
      f.serial.find_first_not_of('\0') == std::string::npos) {
    return absl::InvalidArgumentError("certificate serial must be 1 to 20 bytes, not zero");
  }
  if (f.not_after <= f.not_before) {
    return absl::InvalidArgumentError("certificate validity is empty (notAfter <= notBefore)");
  }
  if (f.issuer_name_der.empty() || f.subject_name_der.empty()) {
    return absl::InvalidArgumentError("certificate issuer and subject names are required");
  }
  KSEF_ASSIGN_OR_RETURN(std::string ski, KeyIdentifier(f.subject_public_key_der, "subject key"));
  KSEF_ASSIGN_OR_RETURN(std::string aki, KeyIdentifier(issuer_spki_der, "issuer key"));
  KSEF_ASSIGN_OR_RETURN(std::string algorithm_id, csr::SignatureAlgorithmDer(issuer.algorithm()));

  std::string extensions;
  extensions += Extension(kOidBasicConstraints, true,
                          DerTlv(csr::kTagSequence, f.is_ca ? DerTlv(kTagBoolean, "\xff") : ""));
  extensions += Extension(kOidKeyUsage, true, KeyUsageBits(f));
  extensions += Extension(kOidSubjectKeyId, false, DerTlv(kTagOctetString, ski));
  extensions += Extension(kOidAuthorityKeyId, false,
                          DerTlv(csr::kTagSequence, DerTlv(kTagContext0Implicit, aki)));

  std::string tbs = DerTlv(kTagContext0Explicit, csr::DerUnsignedInteger("\x02"));  // v3
  tbs += csr::DerUnsignedInteger(f.serial);
  tbs += algorithm_id;
  tbs += f.issuer_name_der;
  tbs += DerTlv(csr::kTagSequence, Time(f.not_before) + Time(f.not_after));
  tbs += f.subject_name_der;
  tbs += f.subject_public_key_der;
  tbs += DerTlv(kTagContext3Explicit, DerTlv(csr::kTagSequence, extensions));
  return csr::SignToBeSigned(DerTlv(csr::kTagSequence, tbs), issuer);
}

std::string RandomSerial() {
  std::string serial(8, '\0');
  do {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(serial.data()), 8) != 1) std::abort();
    serial[0] = static_cast<char>(serial[0] & 0x7f);
  } while (serial[0] == 0);
  return serial;
}

}  // namespace ksef::cert
