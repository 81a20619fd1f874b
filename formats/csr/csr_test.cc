#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/ecdsa.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/openssl_ptr.h"
#include "crypto/software_signer.h"
#include "formats/csr/asn1_der.h"
#include "formats/csr/csr_builder.h"
#include "formats/csr/enrollment_data.h"
#include "formats/csr/subject_name.h"

namespace ksef::csr {
namespace {

using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ, X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;

// ksef.md 4.3 example == vectors.md V5a enrollment data (OpenAPI example).
constexpr absl::string_view kOfficialJson =
    R"({"commonName":"Firma Kowalski Certyfikat","countryName":"PL","serialNumber":"ABC123456789",)"
    R"("uniqueIdentifier":"d9d22724-4696-460c-9e5e-b9e3aafb0af3",)"
    R"("organizationName":"Firma Kowalski Sp. z o.o.","organizationIdentifier":"7762811692"})";

std::string StripWhitespace(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') out.push_back(c);
  }
  return out;
}

std::string ReadTestData(absl::string_view name) {
  const char* dir = std::getenv("KSEF_SOURCE_DIR");
  EXPECT_NE(dir, nullptr) << "KSEF_SOURCE_DIR must point at the source tree (ctest sets it)";
  if (dir == nullptr) return "";
  auto content = ReadFile(std::string(dir) + "/tests/testdata/" + std::string(name));
  EXPECT_TRUE(content.ok()) << content.status();
  return content.ok() ? *content : "";
}

std::string V5aNameDer() {
  return HexDecode(StripWhitespace(ReadTestData("v5a_name_der.hex"))).value_or("");
}
std::string V5bCsrDer() {
  return Base64Decode(StripWhitespace(ReadTestData("v5b_csr_der.b64"))).value_or("");
}

// Splits one DER TLV off the front of `in`; empty on a malformed header.
absl::string_view TakeTlv(absl::string_view& in) {
  if (in.size() < 2) return {};
  size_t header = 2;
  size_t len = static_cast<uint8_t>(in[1]);
  if (len & 0x80) {
    const size_t n = len & 0x7f;
    if (n == 0 || n > 4 || in.size() < 2 + n) return {};
    len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<uint8_t>(in[2 + i]);
    header += n;
  }
  if (in.size() < header + len) return {};
  absl::string_view tlv = in.substr(0, header + len);
  in.remove_prefix(header + len);
  return tlv;
}

// Content octets of a TLV already checked by TakeTlv.
absl::string_view Content(absl::string_view tlv) {
  size_t h = 2;
  if (static_cast<uint8_t>(tlv[1]) & 0x80) h += static_cast<uint8_t>(tlv[1]) & 0x7f;
  return tlv.substr(h);
}

struct CsrParts {
  absl::string_view cri, algorithm, signature_bit_string;
};

CsrParts Split(absl::string_view csr) {
  absl::string_view in = csr;
  absl::string_view outer = TakeTlv(in);
  EXPECT_TRUE(in.empty()) << "trailing bytes after the CSR";
  absl::string_view body = Content(outer);
  CsrParts parts;
  parts.cri = TakeTlv(body);
  parts.algorithm = TakeTlv(body);
  parts.signature_bit_string = TakeTlv(body);
  EXPECT_TRUE(body.empty()) << "extra elements in the CSR";
  return parts;
}

EnrollmentData OfficialData() {
  auto data = ParseEnrollmentDataJson(kOfficialJson);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *data : EnrollmentData{};
}

std::unique_ptr<crypto::SoftwareSigner> V3Signer() {
  auto signer = crypto::SoftwareSigner::FromPrivateKey(ReadTestData("v3_p256_key.pem"));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return signer.ok() ? std::move(*signer) : nullptr;
}

// Verifies with OpenSSL's own PKCS#10 code (never `openssl req`, see
// pitfalls.md) and checks the DER re-encodes unchanged.
void ExpectOpenSslAccepts(const std::string& der, int expected_sig_nid) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_NE(req, nullptr) << OpenSslError("d2i_X509_REQ");
  EXPECT_EQ(p, reinterpret_cast<const unsigned char*>(der.data()) + der.size());
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_REQ_verify(req.get(), key), 1) << OpenSslError("X509_REQ_verify");
  EXPECT_EQ(X509_REQ_get_signature_nid(req.get()), expected_sig_nid);
  EXPECT_EQ(X509_REQ_get_version(req.get()), 0);
  unsigned char* out = nullptr;
  int len = i2d_X509_REQ(req.get(), &out);
  ASSERT_GT(len, 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), len), der);
  OPENSSL_free(out);
}

// Returns a fixed signature and records the digest it was asked to sign.
class FixedSigner : public crypto::Signer {
 public:
  FixedSigner(crypto::KeyAlgorithm algorithm, std::string spki, absl::StatusOr<std::string> result)
      : algorithm_(algorithm), spki_(std::move(spki)), result_(std::move(result)) {}
  crypto::KeyAlgorithm algorithm() const override { return algorithm_; }
  const std::string& public_key_der() const override { return spki_; }
  absl::StatusOr<std::string> SignDigest(crypto::SignatureScheme scheme,
                                         absl::string_view digest) const override {
    last_scheme_ = scheme;
    last_digest_ = std::string(digest);
    return result_;
  }
  mutable crypto::SignatureScheme last_scheme_{};
  mutable std::string last_digest_;

 private:
  crypto::KeyAlgorithm algorithm_;
  std::string spki_;
  absl::StatusOr<std::string> result_;
};

std::string Sha256(absl::string_view data) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

// --- JSON -------------------------------------------------------------------

TEST(EnrollmentDataTest, ParsesOfficialExample) {
  auto data = ParseEnrollmentDataJson(kOfficialJson);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->common_name, "Firma Kowalski Certyfikat");
  EXPECT_EQ(data->country_name, "PL");
  EXPECT_EQ(data->serial_number, "ABC123456789");
  EXPECT_EQ(data->unique_identifier, "d9d22724-4696-460c-9e5e-b9e3aafb0af3");
  EXPECT_EQ(data->organization_name, "Firma Kowalski Sp. z o.o.");
  EXPECT_EQ(data->organization_identifier, "7762811692");
  EXPECT_FALSE(data->surname.has_value());
  EXPECT_FALSE(data->given_name.has_value());
}

TEST(EnrollmentDataTest, NullsEscapesWhitespaceAndUnknownKeys) {
  auto data = ParseEnrollmentDataJson(
      " {\n \"commonName\" : \"Jan \\\"J\\\" Kowalski \\u0141\\u00f3d\\u017A \\ud83d\\ude00\\/\",\t"
      "\"countryName\":\"PL\", \"surname\": null, \"givenName\":\"Józef\","
      "\"futureField\":\"x\", \"organizationName\":null }\r\n");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->common_name, "Jan \"J\" Kowalski Łódź \xF0\x9F\x98\x80/");
  EXPECT_EQ(data->given_name, "Józef");
  EXPECT_FALSE(data->surname.has_value());
  EXPECT_FALSE(data->organization_name.has_value());
}

TEST(EnrollmentDataTest, RefusesMalformedJson) {
  const char* bad[] = {
      "",
      "{",
      "[]",
      "\"x\"",
      R"({"commonName":"A","countryName":"PL",})",
      R"({"commonName":"A","countryName":"PL"} x)",
      R"({"commonName":"A","countryName":"PL"}{})",
      R"({"commonName":"A" "countryName":"PL"})",
      R"({commonName:"A","countryName":"PL"})",
      R"({"commonName":'A',"countryName":"PL"})",
      R"({"commonName":"A,"countryName":"PL"})",
      R"({"commonName":"A","countryName":"PL","x":nul})",
      R"({"commonName":"A\q","countryName":"PL"})",
      R"({"commonName":"A\u12","countryName":"PL"})",
      R"({"commonName":"A\ud800","countryName":"PL"})",
      R"({"commonName":"A\udc00x","countryName":"PL"})",
      R"({"commonName":"A\u0000","countryName":"PL"})",
      "{\"commonName\":\"A\tB\",\"countryName\":\"PL\"}",       // raw control char
      "{\"commonName\":\"A\xC3\",\"countryName\":\"PL\"}",      // truncated UTF-8
      "{\"commonName\":\"A\xC0\xAF\",\"countryName\":\"PL\"}",  // overlong
  };
  for (const char* json : bad) {
    auto data = ParseEnrollmentDataJson(json);
    EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_NE(data.status().message().find("enrollment data"), std::string::npos) << json;
  }
}

TEST(EnrollmentDataTest, RefusesNonStringValues) {
  const char* bad[] = {
      R"({"commonName":"A","countryName":"PL","serialNumber":123})",
      R"({"commonName":"A","countryName":"PL","surname":true})",
      R"({"commonName":"A","countryName":"PL","givenNames":["Jan"]})",
      R"({"commonName":"A","countryName":"PL","extra":{"a":"b"}})",
  };
  for (const char* json : bad) {
    auto data = ParseEnrollmentDataJson(json);
    EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_NE(data.status().message().find("must be a string or null"), std::string::npos)
        << data.status();
  }
}

TEST(EnrollmentDataTest, RefusesDuplicatesAndMissingRequiredFields) {
  struct Case {
    const char* json;
    const char* needle;
  } cases[] = {
      {R"({"commonName":"A","countryName":"PL","commonName":"B"})", "duplicate key \"commonName\""},
      {R"({"commonName":"A","countryName":"PL","x":"1","x":null})", "duplicate key \"x\""},
      {R"({"countryName":"PL"})", "commonName is missing"},
      {R"({"commonName":"A","countryName":null})", "countryName is null"},
      {R"({"commonName":"","countryName":"PL"})", "commonName is empty"},
      {R"({})", "commonName is missing"},
  };
  for (const Case& c : cases) {
    auto data = ParseEnrollmentDataJson(c.json);
    EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_NE(data.status().message().find(c.needle), std::string::npos) << data.status();
  }
}

// --- Subject name -----------------------------------------------------------

TEST(SubjectNameTest, OfficialDnIsByteIdenticalToV5a) {
  auto name = BuildSubjectNameDer(OfficialData());
  ASSERT_TRUE(name.ok()) << name.status();
  const std::string expected = V5aNameDer();
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(HexUpper(*name), HexUpper(expected));
}

TEST(SubjectNameTest, PersonOrderAndStringTypes) {
  EnrollmentData d;
  d.common_name = "Jan Kowalski";
  d.surname = "Kowalski";
  d.given_name = "Jan";
  d.organization_name = "";  // empty: left out, like the C# client
  d.country_name = "PL";
  d.serial_number = "PNOPL-44051401359";
  auto der = BuildSubjectNameDer(d);
  ASSERT_TRUE(der.ok()) << der.status();
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_NE(name, nullptr);
  const std::pair<int, int> expected[] = {
      {NID_commonName, V_ASN1_UTF8STRING},        {NID_surname, V_ASN1_UTF8STRING},
      {NID_givenName, V_ASN1_UTF8STRING},         {NID_countryName, V_ASN1_PRINTABLESTRING},
      {NID_serialNumber, V_ASN1_PRINTABLESTRING},
  };
  ASSERT_EQ(X509_NAME_entry_count(name.get()), 5);
  for (int i = 0; i < 5; ++i) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(name.get(), i);
    EXPECT_EQ(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), expected[i].first) << i;
    EXPECT_EQ(ASN1_STRING_type(X509_NAME_ENTRY_get_data(e)), expected[i].second) << i;
    EXPECT_EQ(X509_NAME_ENTRY_set(e), i) << "one attribute per RDN";
  }
}

TEST(SubjectNameTest, RefusesBadPrintableStringsNamingTheField) {
  struct Case {
    const char* country;
    const char* serial;
    const char* field;
  } cases[] = {
      {"PL", "TINPL_1234567890", "serialNumber"},
      {"PL", "ABC@1", "serialNumber"},
      {"PL", "A&B", "serialNumber"},
      {"PL", "A*B", "serialNumber"},
      {"PL", "ŁÓDŹ1", "serialNumber"},
      {"POL", "ABC", "countryName"},
      {"P1", "ABC", "countryName"},
      {"", "ABC", "countryName"},
      {"Ł", "ABC", "countryName"},
  };
  auto signer = V3Signer();
  ASSERT_NE(signer, nullptr);
  for (const Case& c : cases) {
    EnrollmentData d = OfficialData();
    d.country_name = c.country;
    d.serial_number = c.serial;
    auto name = BuildSubjectNameDer(d);
    EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument) << c.serial;
    EXPECT_NE(name.status().message().find(c.field), std::string::npos) << name.status();
    auto csr = BuildCsrDer(d, *signer);
    EXPECT_EQ(csr.status().code(), absl::StatusCode::kInvalidArgument) << c.serial;
    EXPECT_NE(csr.status().message().find(c.field), std::string::npos) << csr.status();
  }
  EnrollmentData d = OfficialData();
  d.serial_number = "TINPL-1234567890 (a'b+c,d./:=?)";
  EXPECT_TRUE(BuildSubjectNameDer(d).ok());
  d.organization_name = "Bad \xFF UTF-8";
  auto bad = BuildSubjectNameDer(d);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("organizationName"), std::string::npos);
}

// --- CSR --------------------------------------------------------------------

TEST(CsrTest, EcCsrFromSoftwareSignerVerifiesAndMatchesV5b) {
  auto signer = V3Signer();
  ASSERT_NE(signer, nullptr);
  auto csr = BuildCsrDer(OfficialData(), *signer);
  ASSERT_TRUE(csr.ok()) << csr.status();
  ExpectOpenSslAccepts(*csr, NID_ecdsa_with_SHA256);

  const std::string v5b = V5bCsrDer();
  ASSERT_FALSE(v5b.empty());
  CsrParts ours = Split(*csr);
  CsrParts vector = Split(v5b);
  ASSERT_FALSE(vector.cri.empty());
  // OpenSSL 3 ECDSA is randomized: everything but the signature must match.
  EXPECT_EQ(HexUpper(ours.cri), HexUpper(vector.cri));
  EXPECT_EQ(HexUpper(ours.algorithm), "300A06082A8648CE3D040302");
  EXPECT_EQ(ours.algorithm, vector.algorithm);

  auto cri = BuildCertificationRequestInfoDer(OfficialData(), signer->public_key_der());
  ASSERT_TRUE(cri.ok()) << cri.status();
  EXPECT_EQ(*cri, std::string(vector.cri));
}

TEST(CsrTest, WithTheVectorsSignatureTheCsrIsByteIdenticalToV5b) {
  const std::string v5b = V5bCsrDer();
  CsrParts vector = Split(v5b);
  ASSERT_GT(vector.signature_bit_string.size(), 3u);
  // BIT STRING content = 00 || ECDSA-Sig-Value.
  auto raw = EcdsaDerToRaw(Content(vector.signature_bit_string).substr(1));
  ASSERT_TRUE(raw.ok()) << raw.status();
  auto v3 = V3Signer();
  ASSERT_NE(v3, nullptr);
  FixedSigner signer(crypto::KeyAlgorithm::kEcP256, v3->public_key_der(), *raw);
  auto csr = BuildCsrDer(OfficialData(), signer);
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_EQ(HexUpper(*csr), HexUpper(v5b));
  EXPECT_EQ(signer.last_scheme_, crypto::SignatureScheme::kEcdsaSha256);
  EXPECT_EQ(signer.last_digest_, Sha256(vector.cri));
}

TEST(CsrTest, EcdsaSignatureIsMinimalDer) {
  auto v3 = V3Signer();
  ASSERT_NE(v3, nullptr);
  // r with leading zero bytes, s with the high bit set.
  std::string raw(64, '\0');
  raw[31] = 0x01;
  raw[30] = 0x7f;
  for (int i = 32; i < 64; ++i) raw[i] = static_cast<char>(0x80 + i);
  FixedSigner signer(crypto::KeyAlgorithm::kEcP256, v3->public_key_der(), raw);
  auto csr = BuildCsrDer(OfficialData(), signer);
  ASSERT_TRUE(csr.ok()) << csr.status();
  auto expected = EcdsaRawToDer(raw);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(HexUpper(Content(Split(*csr).signature_bit_string).substr(1)), HexUpper(*expected));
}

TEST(CsrTest, RsaCsrVerifies) {
  auto signer = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kRsa2048);
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto csr = BuildCsrDer(OfficialData(), **signer);
  ASSERT_TRUE(csr.ok()) << csr.status();
  ExpectOpenSslAccepts(*csr, NID_sha256WithRSAEncryption);
  EXPECT_EQ(HexUpper(Split(*csr).algorithm), "300D06092A864886F70D01010B0500");
}

TEST(CsrTest, SignerFailuresAndMalformedResults) {
  auto v3 = V3Signer();
  ASSERT_NE(v3, nullptr);
  FixedSigner down(crypto::KeyAlgorithm::kEcP256, v3->public_key_der(),
                   absl::UnavailableError("token gone"));
  EXPECT_EQ(BuildCsrDer(OfficialData(), down).status().code(), absl::StatusCode::kUnavailable);
  FixedSigner short_sig(crypto::KeyAlgorithm::kEcP256, v3->public_key_der(), std::string(63, 'x'));
  EXPECT_EQ(BuildCsrDer(OfficialData(), short_sig).status().code(), absl::StatusCode::kInternal);
  FixedSigner der_sig(crypto::KeyAlgorithm::kEcP256, v3->public_key_der(),
                      *EcdsaRawToDer(std::string(64, '\x01')));
  EXPECT_EQ(BuildCsrDer(OfficialData(), der_sig).status().code(), absl::StatusCode::kInternal);
}

TEST(CsrTest, RefusesKeysKsefDoesNotAccept) {
  EXPECT_EQ(BuildCertificationRequestInfoDer(OfficialData(), "not a key").status().code(),
            absl::StatusCode::kInvalidArgument);
  EvpPkeyPtr rsa1024(EVP_RSA_gen(1024));
  ASSERT_NE(rsa1024, nullptr);
  unsigned char* out = nullptr;
  int len = i2d_PUBKEY(rsa1024.get(), &out);
  ASSERT_GT(len, 0);
  std::string spki(reinterpret_cast<char*>(out), len);
  OPENSSL_free(out);
  auto cri = BuildCertificationRequestInfoDer(OfficialData(), spki);
  EXPECT_EQ(cri.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(cri.status().message().find("2048"), std::string::npos) << cri.status();
  EvpPkeyPtr p384(EVP_EC_gen("secp384r1"));
  ASSERT_NE(p384, nullptr);
  out = nullptr;
  len = i2d_PUBKEY(p384.get(), &out);
  ASSERT_GT(len, 0);
  spki.assign(reinterpret_cast<char*>(out), len);
  OPENSSL_free(out);
  cri = BuildCertificationRequestInfoDer(OfficialData(), spki);
  EXPECT_EQ(cri.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(cri.status().message().find("P-256"), std::string::npos) << cri.status();
}

TEST(CsrTest, Base64AndPem) {
  const std::string der = V5bCsrDer();
  EXPECT_EQ(CsrToBase64(der), StripWhitespace(ReadTestData("v5b_csr_der.b64")));
  const std::string pem = CsrToPem(der);
  std::vector<std::string> lines = absl::StrSplit(pem, '\n');
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines.front(), "-----BEGIN CERTIFICATE REQUEST-----");
  EXPECT_EQ(lines[lines.size() - 2], "-----END CERTIFICATE REQUEST-----");
  EXPECT_EQ(lines.back(), "");  // trailing newline
  for (size_t i = 1; i + 2 < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), 64u);
    if (i + 3 < lines.size()) {
      EXPECT_EQ(lines[i].size(), 64u);
    }
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(req, nullptr) << OpenSslError("PEM_read_bio_X509_REQ");
  unsigned char* out = nullptr;
  int len = i2d_X509_REQ(req.get(), &out);
  ASSERT_GT(len, 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), len), der);
  OPENSSL_free(out);
}

TEST(Asn1DerTest, LongFormLengthsAndIntegers) {
  EXPECT_EQ(HexUpper(DerTlv(kTagSequence, std::string(0x7f, 'a'))).substr(0, 4), "307F");
  EXPECT_EQ(HexUpper(DerTlv(kTagSequence, std::string(0x80, 'a'))).substr(0, 6), "308180");
  EXPECT_EQ(HexUpper(DerTlv(kTagSequence, std::string(0x117, 'a'))).substr(0, 8), "30820117");
  EXPECT_EQ(HexUpper(DerUnsignedInteger("")), "020100");
  EXPECT_EQ(HexUpper(DerUnsignedInteger(std::string("\0\0\x7f", 3))), "02017F");
  EXPECT_EQ(HexUpper(DerUnsignedInteger("\x80")), "02020080");
}

}  // namespace
}  // namespace ksef::csr
