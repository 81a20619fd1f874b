#include "formats/cert/certificate_info.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/openssl_ptr.h"
#include "common/status_macros.h"

namespace ksef::cert {
namespace {

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("certificate: ", what));
}

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // RFC 2253/4514 order and escaping, but UTF-8 kept as is (readable).
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string NameToDer(const X509_NAME* name) {
  const unsigned char* der = nullptr;
  size_t len = 0;
  if (X509_NAME_get0_der(const_cast<X509_NAME*>(name), &der, &len) != 1) return "";
  return std::string(reinterpret_cast<const char*>(der), len);
}

absl::StatusOr<absl::Time> AsnTime(const ASN1_TIME* t, absl::string_view field) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return Invalid(absl::StrCat(field, " is not a valid time"));
  }
  absl::CivilSecond civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec);
  return absl::FromCivil(civil, absl::UTCTimeZone());
}

std::string StripWhitespace(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) out.push_back(c);
  }
  return out;
}

absl::StatusOr<std::string> DecodeBase64Loose(absl::string_view text, absl::string_view what) {
  auto der = Base64Decode(StripWhitespace(text));
  if (!der || der->empty()) return Invalid(absl::StrCat(what, " is not valid Base64"));
  return *der;
}

absl::StatusOr<std::string> FromPem(absl::string_view input) {
  constexpr absl::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr absl::string_view kEnd = "-----END CERTIFICATE-----";
  size_t begin = input.find(kBegin);
  size_t end = input.find(kEnd, begin);
  if (end == absl::string_view::npos) return Invalid("PEM block has no END CERTIFICATE line");
  begin += kBegin.size();
  return DecodeBase64Loose(input.substr(begin, end - begin), "PEM body");
}

// POST /certificates/retrieve: {"certificates":[{certificate, certificateSerialNumber..}]}
// or a single element of that array.
absl::StatusOr<std::string> FromRetrieveJson(absl::string_view input,
                                             absl::string_view serial_hex) {
  KSEF_ASSIGN_OR_RETURN(JsonValue root, ParseJson(input, "certificate"));
  std::vector<const JsonValue*> entries;
  if (const JsonValue* list = root.Find("certificates"); list != nullptr) {
    if (!list->is_array()) return Invalid("\"certificates\" must be an array");
    for (const JsonValue& item : list->items) entries.push_back(&item);
  } else if (root.Find("certificate") != nullptr) {
    entries.push_back(&root);
  } else {
    return Invalid(
        "JSON has neither \"certificates\" (POST /certificates/retrieve) nor \"certificate\"");
  }
  std::vector<const JsonValue*> picked;
  for (const JsonValue* e : entries) {
    const JsonValue* serial = e->Find("certificateSerialNumber");
    if (!serial_hex.empty() &&
        (serial == nullptr || !serial->is_string() || !absl::EqualsIgnoreCase(serial->text, serial_hex))) {
      continue;
    }
    picked.push_back(e);
  }
  if (picked.empty()) {
    return Invalid(serial_hex.empty()
                       ? std::string("the JSON holds no certificate")
                       : absl::StrCat("the JSON holds no certificate with serial ", serial_hex));
  }
  if (picked.size() > 1) {
    return Invalid(absl::StrCat("the JSON holds ", picked.size(),
                                " certificates; say which one with its serial number"));
  }
  const JsonValue* cert = picked.front()->Find("certificate");
  if (cert == nullptr || !cert->is_string()) {
    return Invalid("\"certificate\" must be a Base64 string");
  }
  return DecodeBase64Loose(cert->text, "\"certificate\"");
}

}  // namespace

const char* CertificateTypeName(CertificateType type) {
  return type == CertificateType::kAuthentication ? "Authentication" : "Offline";
}

absl::StatusOr<CertificateInfo> ParseCertificateDer(absl::string_view der) {
  if (der.empty()) return Invalid("empty input");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x509) return absl::InvalidArgumentError(OpenSslError("certificate: not a DER X.509 certificate"));
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return Invalid("trailing bytes after the DER certificate");
  }
  CertificateInfo info;
  info.der = std::string(der);

  const ASN1_INTEGER* serial = X509_get0_serialNumber(x509.get());
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn || BN_is_negative(bn.get())) return Invalid("serial number is negative or unreadable");
  std::string magnitude(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(magnitude.data()));
  info.serial_hex = magnitude.empty() ? "00" : HexUpper(magnitude);
  char* dec = BN_bn2dec(bn.get());
  if (dec == nullptr) return absl::InternalError("BN_bn2dec failed");
  info.serial_decimal = dec;
  OPENSSL_free(dec);

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(der.data(), der.size(), digest, &digest_len, EVP_sha256(), nullptr);
  info.sha256_fingerprint =
      HexUpper(absl::string_view(reinterpret_cast<const char*>(digest), digest_len));

  info.subject = NameToString(X509_get_subject_name(x509.get()));
  info.issuer = NameToString(X509_get_issuer_name(x509.get()));
  info.subject_name_der = NameToDer(X509_get_subject_name(x509.get()));
  info.issuer_name_der = NameToDer(X509_get_issuer_name(x509.get()));
  KSEF_ASSIGN_OR_RETURN(info.not_before, AsnTime(X509_get0_notBefore(x509.get()), "notBefore"));
  KSEF_ASSIGN_OR_RETURN(info.not_after, AsnTime(X509_get0_notAfter(x509.get()), "notAfter"));

  const X509_PUBKEY* pub = X509_get_X509_PUBKEY(x509.get());
  unsigned char* spki = nullptr;
  int spki_len = i2d_X509_PUBKEY(const_cast<X509_PUBKEY*>(pub), &spki);
  if (spki_len <= 0) return Invalid("public key is unreadable");
  info.public_key_der.assign(reinterpret_cast<char*>(spki), static_cast<size_t>(spki_len));
  OPENSSL_free(spki);

  // X509_get_key_usage also caches extensions; it fails on malformed ones.
  if (X509_check_purpose(x509.get(), -1, 0) != 1 ||
      (X509_get_extension_flags(x509.get()) & EXFLAG_INVALID) != 0) {
    return Invalid("an extension is malformed");
  }
  info.has_key_usage = (X509_get_extension_flags(x509.get()) & EXFLAG_KUSAGE) != 0;
  const uint32_t usage = X509_get_key_usage(x509.get());
  info.digital_signature = info.has_key_usage && (usage & KU_DIGITAL_SIGNATURE) != 0;
  info.non_repudiation = info.has_key_usage && (usage & KU_NON_REPUDIATION) != 0;

  const X509_ALGOR* alg = nullptr;
  X509_get0_signature(nullptr, &alg, x509.get());
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, alg);
  const int nid = OBJ_obj2nid(oid);
  info.signature_algorithm = nid != NID_undef ? OBJ_nid2ln(nid) : "unknown";
  return info;
}

absl::StatusOr<std::string> DecodeCertificateInput(absl::string_view input,
                                                   absl::string_view serial_hex) {
  size_t first = 0;
  while (first < input.size() && absl::ascii_isspace(static_cast<unsigned char>(input[first]))) {
    ++first;
  }
  if (first == input.size()) return Invalid("empty input");
  if (static_cast<unsigned char>(input[0]) == 0x30) return std::string(input);  // DER
  if (absl::StrContains(input, "-----BEGIN CERTIFICATE-----")) return FromPem(input);
  if (input[first] == '{' || input[first] == '[') return FromRetrieveJson(input, serial_hex);
  if (absl::StrContains(input, "-----BEGIN")) {
    return Invalid("PEM input must be a CERTIFICATE block");
  }
  return DecodeBase64Loose(input, "input (neither DER, PEM, JSON nor Base64)");
}

absl::Status CheckCertificateMatchesKey(const CertificateInfo& info, absl::string_view spki_der,
                                        CertificateType type) {
  if (info.public_key_der != spki_der) {
    return Invalid(
        "its public key is not the key's public key (it was issued for another key or CSR)");
  }
  if (!info.has_key_usage) {
    return Invalid("it has no keyUsage extension; KSeF certificates carry one");
  }
  if (type == CertificateType::kAuthentication && !info.digital_signature) {
    return Invalid(
        "keyUsage lacks digitalSignature, which an Authentication key needs (is it an Offline "
        "certificate?)");
  }
  if (type == CertificateType::kOffline && !info.non_repudiation) {
    return Invalid(
        "keyUsage lacks nonRepudiation, which an Offline key needs (is it an Authentication "
        "certificate?)");
  }
  return absl::OkStatus();
}

std::string CertificateToPem(absl::string_view der) { return PemArmor("CERTIFICATE", der); }

}  // namespace ksef::cert
