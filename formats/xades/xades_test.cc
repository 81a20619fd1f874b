// XAdES signing of AuthTokenRequest: the V4 vector (digests and SignedInfo
// hash with inclusive C14N), independent verification by xmlsec1 (EC and
// RSA), our structural verifier, and refusal of hostile or wrong input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "common/ecdsa.h"
#include "common/encoding.h"
#include "crypto/software_signer.h"
#include "formats/cert/certificate_info.h"
#include "formats/cert/test_ca.h"
#include "formats/csr/csr_builder.h"
#include "formats/testing/test_data.h"
#include "formats/xades/auth_token_request.h"
#include "formats/xades/xades_signer.h"
#include "formats/xades/xades_verifier.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/xmlsec.h"

namespace ksef::xades {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kV4DocumentDigest[] = "sYMEF9N9ddw5LtSr2LZV9YGSF8e5YC+iKHLKBlR9o1M=";
constexpr char kV4PropertiesDigest[] = "avuSPFtQi881mUEKERF/+smrfvJQybwKqH5fitlYXUM=";
constexpr char kV4SignedInfoSha256[] =
    "A66AFEFDAE40E091AB67FB03606C8F401AB8912E08ACAD20ED4963B51913C2DB";
constexpr char kV4SignatureValue[] =
    "3fvGim49j6BAVLE6N4qE7A6LtDwiM5tts2F6ngU5O/g1HP88KLm2cJu4WcXkGLdfDkXfxnIjZOEr8ZzAc/bUWg==";

std::string StripWhitespace(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != '\n' && c != '\r' && c != ' ') out.push_back(c);
  }
  return out;
}

absl::Time V4SigningTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 1, 15, 10, 0, 0), absl::UTCTimeZone());
}

class XadesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto signer = crypto::SoftwareSigner::FromPrivateKey(testdata::Read("v3_p256_key.pem"));
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = std::move(*signer);
    cert_der_ = Base64Decode(StripWhitespace(testdata::Read("v4_cert.b64"))).value_or("");
    auto info = cert::ParseCertificateDer(cert_der_);
    ASSERT_TRUE(info.ok()) << info.status();
    cert_ = XadesCertificate::FromCertificate(*info);
    unsigned_ = testdata::Read("v4_unsigned.xml");
  }

  std::unique_ptr<crypto::SoftwareSigner> signer_;
  std::string cert_der_;
  XadesCertificate cert_;
  std::string unsigned_;
};


TEST_F(XadesTest, CertificatePartsMatchV4) {
  EXPECT_EQ(cert_.digest_base64, "Et0SAunZPVEw8HlwB0gMXRA4Xk9APwGxNvq8EKUFqtc=");
  EXPECT_EQ(cert_.issuer_name, "GN=A,SN=R,serialNumber=TINPL-8976111986,CN=A R,C=PL");
  EXPECT_EQ(cert_.serial_decimal, "3320730337684313872");
  EXPECT_EQ(cert_.der_base64, StripWhitespace(testdata::Read("v4_cert.b64")));
}

TEST_F(XadesTest, InclusiveC14nReproducesV4) {
  XadesOptions options;
  options.canonicalization = SignedInfoCanonicalization::kInclusive;
  options.signing_time = V4SigningTime();
  auto signed_doc = SignAuthTokenRequestXml(unsigned_, cert_, *signer_, options);
  ASSERT_TRUE(signed_doc.ok()) << signed_doc.status();

  EXPECT_THAT(signed_doc->xml, HasSubstr(absl::StrCat("<DigestValue>", kV4DocumentDigest, "<")));
  EXPECT_THAT(signed_doc->xml, HasSubstr(absl::StrCat("<DigestValue>", kV4PropertiesDigest, "<")));
  EXPECT_EQ(HexUpper(signed_doc->signed_info_sha256), kV4SignedInfoSha256);
  EXPECT_EQ(signed_doc->signing_time_text, "2026-01-15T10:00:00.0000000+00:00");
  EXPECT_EQ(signed_doc->signing_time, V4SigningTime());
  EXPECT_EQ(signed_doc->certificate_serial_decimal, "3320730337684313872");
  EXPECT_EQ(signed_doc->unsigned_sha256.size(), 32u);
  EXPECT_TRUE(
      crypto::VerifyDigestSignature(signer_->public_key_der(), crypto::SignatureScheme::kEcdsaSha256,
                                 signed_doc->signed_info_sha256, signed_doc->signature_value)
          .ok());

  // Everything but the (randomized) SignatureValue equals V4 byte for byte.
  std::string ours = Base64Encode(signed_doc->signature_value);
  std::string expected =
      absl::StrReplaceAll(testdata::Read("v4_signed.xml"), {{kV4SignatureValue, ours}});
  EXPECT_EQ(signed_doc->xml, expected);

  // V4's own (RFC 6979) signature verifies over our SignedInfo digest.
  EXPECT_TRUE(crypto::VerifyDigestSignature(
                  signer_->public_key_der(), crypto::SignatureScheme::kEcdsaSha256,
                  signed_doc->signed_info_sha256, Base64Decode(kV4SignatureValue).value_or(""))
                  .ok());
  auto verified = VerifySignedAuthTokenRequest(signed_doc->xml);
  EXPECT_TRUE(verified.ok()) << verified.status();
  // And so does the V4 document itself.
  verified = VerifySignedAuthTokenRequest(testdata::Read("v4_signed.xml"));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(HexUpper(verified->signed_info_sha256), kV4SignedInfoSha256);
}

TEST_F(XadesTest, ExclusiveC14nIsTheDefaultAndVerifiesWithXmlsec1) {
  auto signed_doc = SignAuthTokenRequestXml(unsigned_, cert_, *signer_);
  ASSERT_TRUE(signed_doc.ok()) << signed_doc.status();
  EXPECT_THAT(signed_doc->xml,
              HasSubstr("<CanonicalizationMethod "
                        "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"));
  // Digests do not depend on the SignedInfo canonicalization.
  EXPECT_THAT(signed_doc->xml, HasSubstr(kV4DocumentDigest));
  EXPECT_THAT(signed_doc->xml, StartsWith(unsigned_.substr(0, unsigned_.size() - 19)));
  EXPECT_THAT(signed_doc->xml, HasSubstr("</Signature></AuthTokenRequest>"));
  // Default SigningTime: about a minute ago.
  absl::Duration age = absl::Now() - signed_doc->signing_time;
  EXPECT_GT(age, absl::Seconds(50));
  EXPECT_LT(age, absl::Seconds(120));

  std::string output;
  EXPECT_EQ(testing::XmlsecVerify(signed_doc->xml, cert_der_, &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("OK"));
  auto verified = VerifySignedAuthTokenRequest(signed_doc->xml);
  EXPECT_TRUE(verified.ok()) << verified.status();
  // The xmlsec1 check is not vacuous: a changed challenge fails it.
  EXPECT_NE(testing::XmlsecVerify(absl::StrReplaceAll(signed_doc->xml, {{"226FB7B000", "226FB7B001"}}),
                             cert_der_, &output),
            0)
      << output;

  // The inclusive variant verifies with xmlsec1 too.
  XadesOptions inclusive;
  inclusive.canonicalization = SignedInfoCanonicalization::kInclusive;
  signed_doc = SignAuthTokenRequestXml(unsigned_, cert_, *signer_, inclusive);
  ASSERT_TRUE(signed_doc.ok()) << signed_doc.status();
  EXPECT_EQ(testing::XmlsecVerify(signed_doc->xml, cert_der_, &output), 0) << output;
}

TEST_F(XadesTest, SignsBuiltRequestsWithPolicyAndV21) {
  AuthTokenRequest r;
  r.challenge = "20250514-CR-226FB7B000-3ACF9BE4C0-10";
  r.context_identifier.internal_id = "5265877635-12345";
  r.allowed_ips = AllowedIps{{"192.168.0.1"}, {"10.0.0.1-10.0.0.20"}, {"172.16.0.0/12"}};
  r.schema_version = AuthSchemaVersion::kV2_1;
  auto signed_doc = SignAuthTokenRequest(r, cert_, *signer_);
  ASSERT_TRUE(signed_doc.ok()) << signed_doc.status();
  std::string output;
  EXPECT_EQ(testing::XmlsecVerify(signed_doc->xml, cert_der_, &output), 0) << output;
  EXPECT_TRUE(VerifySignedAuthTokenRequest(signed_doc->xml).ok());

  r.challenge = "bad";
  EXPECT_EQ(SignAuthTokenRequest(r, cert_, *signer_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(XadesTest, RsaKeyVerifiesWithXmlsec1) {
  auto rsa = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kRsa2048);
  ASSERT_TRUE(rsa.ok()) << rsa.status();
  auto ca = cert::TestCa::CreateInMemory();
  ASSERT_TRUE(ca.ok()) << ca.status();
  csr::EnrollmentData data;
  data.common_name = "Firma Testowa";
  data.country_name = "PL";
  data.organization_name = "Firma Testowa & Syn <sp. j.>";
  data.organization_identifier = "VATPL-5265877635";
  auto csr = csr::BuildCsrDer(data, **rsa);
  ASSERT_TRUE(csr.ok()) << csr.status();
  auto der =
      (*ca)->Issue(*csr, cert::CertificateType::kAuthentication, absl::Now() - absl::Hours(1));
  ASSERT_TRUE(der.ok()) << der.status();
  auto cert = XadesCertificate::FromDer(*der);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto signed_doc = SignAuthTokenRequestXml(unsigned_, *cert, **rsa);
  ASSERT_TRUE(signed_doc.ok()) << signed_doc.status();
  EXPECT_THAT(signed_doc->xml, HasSubstr("xmldsig-more#rsa-sha256"));
  EXPECT_EQ(signed_doc->signature_value.size(), 256u);
  std::string output;
  EXPECT_EQ(testing::XmlsecVerify(signed_doc->xml, *der, &output), 0) << output;
  auto verified = VerifySignedAuthTokenRequest(signed_doc->xml);
  EXPECT_TRUE(verified.ok()) << verified.status();
}

TEST_F(XadesTest, CertificateOfAnotherKeyIsRefused) {
  auto other = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256);
  ASSERT_TRUE(other.ok());
  auto s = SignAuthTokenRequestXml(unsigned_, cert_, **other).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("certificate:"));
}

TEST_F(XadesTest, DtdAndExternalEntitiesAreRefused) {
  const std::string body = unsigned_.substr(unsigned_.find("<AuthTokenRequest"));
  const std::string decl = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  for (const std::string& bad : {
           decl + "<!DOCTYPE AuthTokenRequest [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n" +
               absl::StrReplaceAll(body, {{"5265877635", "&xxe;"}}),
           decl + "<!DOCTYPE AuthTokenRequest SYSTEM \"http://example.com/a.dtd\">\n" + body,
           decl + "<!DOCTYPE AuthTokenRequest [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>\n" +
               body,
       }) {
    auto s = SignAuthTokenRequestXml(bad, cert_, *signer_).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("DOCTYPE")) << s;
  }
  // An undeclared entity is not well-formed.
  auto s = SignAuthTokenRequestXml(absl::StrReplaceAll(unsigned_, {{"5265877635", "&xxe;"}}), cert_,
                                   *signer_)
               .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  // And the verifier refuses a DOCTYPE too.
  EXPECT_FALSE(
      VerifySignedAuthTokenRequest(decl + "<!DOCTYPE AuthTokenRequest SYSTEM \"a.dtd\">\n" + body)
          .ok());
}

TEST_F(XadesTest, WrongDocumentsAreRefused) {
  auto signed_doc = SignAuthTokenRequestXml(unsigned_, cert_, *signer_);
  ASSERT_TRUE(signed_doc.ok());
  for (const std::string& bad : {
           std::string("not xml"), std::string(""), unsigned_ + "<!-- trailing -->",
           unsigned_.substr(0, unsigned_.size() - 1),
           absl::StrReplaceAll(unsigned_, {{"auth/token/2.0", "auth/token/9.9"}}),
           absl::StrReplaceAll(unsigned_, {{"<Challenge>", "<Challenge Id=\"SignedProperties\">"}}),
           signed_doc->xml,  // already signed
       }) {
    auto s = SignAuthTokenRequestXml(bad, cert_, *signer_).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), StartsWith("document:")) << s;
  }
  // Trailing whitespace after the root is fine.
  EXPECT_TRUE(SignAuthTokenRequestXml(unsigned_ + "\n", cert_, *signer_).ok());
}

TEST_F(XadesTest, VerifierCatchesTamperingAndStructure) {
  auto signed_doc = SignAuthTokenRequestXml(unsigned_, cert_, *signer_);
  ASSERT_TRUE(signed_doc.ok());
  const std::string& xml = signed_doc->xml;
  std::string tail_start = "<Signature xmlns=";
  std::string signature =
      xml.substr(xml.find(tail_start), xml.find("</AuthTokenRequest>") - xml.find(tail_start));
  for (const std::string& bad : {
           absl::StrReplaceAll(xml, {{"5265877635", "7740001454"}}),
           absl::StrReplaceAll(xml, {{"2025", "2024"}}),
           absl::StrReplaceAll(xml, {{"3320730337684313872", "3320730337684313873"}}),
           // Signature not the last element.
           absl::StrReplaceAll(xml, {{"</Signature></AuthTokenRequest>",
                                      "</Signature><x xmlns=\"urn:x\"/></AuthTokenRequest>"}}),
           // Signature moved to the front.
           absl::StrReplaceAll(absl::StrReplaceAll(xml, {{signature, ""}}),
                               {{"<Challenge>", signature + "<Challenge>"}}),
       }) {
    auto verified = VerifySignedAuthTokenRequest(bad);
    EXPECT_EQ(verified.status().code(), absl::StatusCode::kInvalidArgument);
  }
  // A DER-encoded ECDSA value (KSeF: 9105) is refused even though it is the
  // same signature.
  auto der = EcdsaRawToDer(signed_doc->signature_value);
  ASSERT_TRUE(der.ok());
  std::string with_der =
      absl::StrReplaceAll(xml, {{Base64Encode(signed_doc->signature_value), Base64Encode(*der)}});
  auto verified = VerifySignedAuthTokenRequest(with_der);
  EXPECT_THAT(verified.status().message(), HasSubstr("r||s"));
}

TEST(SigningTimeTest, DotNetRoundTripFormat) {
  absl::Time t = absl::FromCivil(absl::CivilSecond(2026, 1, 15, 10, 0, 0), absl::UTCTimeZone()) +
                 absl::Nanoseconds(123456789);
  EXPECT_EQ(FormatSigningTime(t), "2026-01-15T10:00:00.1234567+00:00");
}

}  // namespace
}  // namespace ksef::xades
