// formats/cert: parsing KSeF certificates (the official V2 one), decoding the
// shapes certificates arrive in, the key/keyUsage checks, certificates built
// by the local test CA and self-signed TEST certificates (checked with
// OpenSSL, in process and with the openssl command).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/openssl_ptr.h"
#include "crypto/software_signer.h"
#include "formats/cert/certificate_builder.h"
#include "formats/cert/certificate_info.h"
#include "formats/cert/self_signed.h"
#include "formats/cert/test_ca.h"
#include "formats/csr/csr_builder.h"
#include "formats/csr/subject_name.h"
#include "tests/support/softhsm_token.h"

namespace ksef::cert {
namespace {

using ::testing::HasSubstr;

std::string StripWhitespace(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') out.push_back(c);
  }
  return out;
}

std::string V2CertBase64() {
  const char* dir = std::getenv("KSEF_SOURCE_DIR");
  EXPECT_NE(dir, nullptr) << "KSEF_SOURCE_DIR must point at the source tree (ctest sets it)";
  if (dir == nullptr) return "";
  auto content = ReadFile(std::string(dir) + "/tests/testdata/v2_ksef_test_cert.b64");
  EXPECT_TRUE(content.ok()) << content.status();
  return content.ok() ? StripWhitespace(*content) : "";
}

std::string V2CertDer() { return Base64Decode(V2CertBase64()).value_or(""); }

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// X509_verify of `der` with the key in `issuer_spki`.
bool VerifiesWith(const std::string& der, const std::string& issuer_spki) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  const auto* q = reinterpret_cast<const unsigned char*>(issuer_spki.data());
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &q, static_cast<long>(issuer_spki.size())));
  return x && key && X509_verify(x.get(), key.get()) == 1;
}

csr::EnrollmentData BetaSeal() {
  csr::EnrollmentData d;
  d.common_name = "Beta";
  d.organization_name = "Beta";
  d.organization_identifier = "VATPL-5265877635";
  d.country_name = "PL";
  return d;
}

TEST(CertificateInfoTest, ParsesTheOfficialKsefTestCertificate) {
  auto info = ParseCertificateDer(V2CertDer());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->serial_hex, "01F20A5D352AE590");
  EXPECT_EQ(info->serial_decimal, "140185933842146704");
  EXPECT_EQ(info->sha256_fingerprint,
            "8BF30676AC95EC1B270A8B130A7CDB13FF093F68ACAFE00FCD9EF48C81395371");
  EXPECT_EQ(info->issuer,
            "CN=TI CCK KSeF,OU=Krajowa Administracja Skarbowa,O=Ministerstwo Finans\xc3\xb3w,C=PL");
  EXPECT_THAT(info->subject, HasSubstr("CN=5265877635"));
  EXPECT_THAT(info->subject, HasSubstr("VATPL-5265877635"));
  EXPECT_EQ(info->not_before, Utc(2025, 7, 29, 9, 28, 37));
  EXPECT_EQ(info->not_after, Utc(2027, 7, 29, 9, 28, 37));
  EXPECT_TRUE(info->has_key_usage);
  EXPECT_TRUE(info->digital_signature);
  EXPECT_FALSE(info->non_repudiation);
  // KSeF's ecdsa-with-SHA512 with an explicit NULL parameter is tolerated.
  EXPECT_EQ(info->signature_algorithm, "ecdsa-with-SHA512");
  EXPECT_FALSE(info->public_key_der.empty());
  EXPECT_EQ(info->issuer_name_der[0], '\x30');
}

TEST(CertificateInfoTest, RefusesGarbageAndTrailingBytes) {
  EXPECT_FALSE(ParseCertificateDer("").ok());
  EXPECT_FALSE(ParseCertificateDer("\x30\x03\x02\x01\x00").ok());
  auto trailing = ParseCertificateDer(V2CertDer() + "x");
  ASSERT_FALSE(trailing.ok());
  EXPECT_THAT(trailing.status().message(), HasSubstr("trailing"));
}

TEST(DecodeCertificateInputTest, AcceptsDerPemBase64AndRetrieveJson) {
  const std::string der = V2CertDer();
  const std::string b64 = V2CertBase64();
  EXPECT_EQ(DecodeCertificateInput(der).value(), der);
  EXPECT_EQ(DecodeCertificateInput(CertificateToPem(der)).value(), der);
  EXPECT_EQ(DecodeCertificateInput("\n" + b64.substr(0, 100) + "\r\n" + b64.substr(100) + "\n")
                .value(),
            der);
  const std::string one = absl::StrCat(
      R"({"certificates":[{"certificate":")", b64,
      R"(","certificateName":"Beta auth","certificateSerialNumber":"01F20A5D352AE590",)"
      R"("certificateType":"Authentication"}]})");
  EXPECT_EQ(DecodeCertificateInput(one).value(), der);
  const std::string element =
      absl::StrCat(R"({"certificate":")", b64, R"(","certificateSerialNumber":"X"})");
  EXPECT_EQ(DecodeCertificateInput(element).value(), der);
}

TEST(DecodeCertificateInputTest, PicksOneOfSeveralBySerial) {
  const std::string b64 = V2CertBase64();
  const std::string two = absl::StrCat(
      R"({"certificates":[{"certificate":"AAAA","certificateSerialNumber":"0321C82DA41B4362"},)",
      R"({"certificate":")", b64, R"(","certificateSerialNumber":"01F20A5D352AE590"}]})");
  auto ambiguous = DecodeCertificateInput(two);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_THAT(ambiguous.status().message(), HasSubstr("serial"));
  EXPECT_EQ(DecodeCertificateInput(two, "01f20a5d352ae590").value(), V2CertDer());
  auto missing = DecodeCertificateInput(two, "0000000000000001");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("0000000000000001"));
}

TEST(DecodeCertificateInputTest, RefusesOtherInput) {
  EXPECT_FALSE(DecodeCertificateInput("").ok());
  EXPECT_FALSE(DecodeCertificateInput("not base64 !").ok());
  EXPECT_FALSE(DecodeCertificateInput("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").ok());
  EXPECT_FALSE(DecodeCertificateInput(R"({"certificates": 5})").ok());
  EXPECT_FALSE(DecodeCertificateInput(R"({"other": 1})").ok());
}

TEST(CheckCertificateMatchesKeyTest, SaysWhichCheckFailed) {
  auto info = ParseCertificateDer(V2CertDer()).value();
  EXPECT_TRUE(
      CheckCertificateMatchesKey(info, info.public_key_der, CertificateType::kAuthentication).ok());
  auto other = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256).value();
  auto wrong_key =
      CheckCertificateMatchesKey(info, other->public_key_der(), CertificateType::kAuthentication);
  EXPECT_EQ(wrong_key.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_key.message(), HasSubstr("public key"));
  auto wrong_usage =
      CheckCertificateMatchesKey(info, info.public_key_der, CertificateType::kOffline);
  EXPECT_EQ(wrong_usage.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_usage.message(), HasSubstr("nonRepudiation"));
}

class TestCaTest : public ::testing::TestWithParam<crypto::KeyAlgorithm> {};

TEST_P(TestCaTest, IssuesKsefLikeCertificatesFromCsrs) {
  auto ca = TestCa::CreateInMemory().value();
  auto ca_info = ParseCertificateDer(ca->certificate_der()).value();
  EXPECT_THAT(ca_info.subject, HasSubstr("NOT KSeF"));
  auto key = crypto::SoftwareSigner::Generate(GetParam()).value();
  const std::string csr = csr::BuildCsrDer(BetaSeal(), *key).value();
  const absl::Time start = Utc(2026, 1, 1, 0, 0, 0);
  for (CertificateType type : {CertificateType::kAuthentication, CertificateType::kOffline}) {
    auto der = ca->Issue(csr::CsrToPem(csr), type, start);
    ASSERT_TRUE(der.ok()) << der.status();
    auto info = ParseCertificateDer(*der).value();
    EXPECT_EQ(info.serial_hex.size(), 16u) << info.serial_hex;
    EXPECT_EQ(info.issuer, ca_info.subject);
    EXPECT_EQ(info.public_key_der, key->public_key_der());
    EXPECT_EQ(info.not_before, start);
    EXPECT_EQ(info.not_after, start + absl::Hours(24 * 730));
    EXPECT_EQ(info.digital_signature, type == CertificateType::kAuthentication);
    EXPECT_EQ(info.non_repudiation, type == CertificateType::kOffline);
    EXPECT_EQ(info.signature_algorithm, "ecdsa-with-SHA256");
    EXPECT_TRUE(CheckCertificateMatchesKey(info, key->public_key_der(), type).ok());
    EXPECT_TRUE(VerifiesWith(*der, ca->signer_public_key_der()));
  }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, TestCaTest,
                         ::testing::Values(crypto::KeyAlgorithm::kEcP256,
                                           crypto::KeyAlgorithm::kRsa2048));

TEST(TestCaFilesTest, PersistsItsKeyAndVerifiesWithOpenssl) {
  const std::string dir = ksef::testing::MakeTempDir("ksef-test-ca");
  const std::string ca_dir = dir + "/ca";
  auto ca = TestCa::OpenOrCreate(ca_dir);
  ASSERT_TRUE(ca.ok()) << ca.status();
  struct stat st {};
  ASSERT_EQ(::stat((ca_dir + "/test-ca-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto again = TestCa::OpenOrCreate(ca_dir);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->certificate_der(), (*ca)->certificate_der());

  auto key = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256).value();
  auto der = (*again)->Issue(csr::CsrToBase64(csr::BuildCsrDer(BetaSeal(), *key).value()),
                             CertificateType::kAuthentication, absl::Now() - absl::Hours(1));
  ASSERT_TRUE(der.ok()) << der.status();
  std::ofstream(dir + "/leaf.pem") << CertificateToPem(*der);
  std::string out;
  int rc = ksef::testing::RunCommand(
      absl::StrCat("openssl verify -CAfile ", ca_dir, "/test-ca-cert.pem ", dir, "/leaf.pem"), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("OK"));
  rc = ksef::testing::RunCommand(
      absl::StrCat("openssl x509 -in ", dir, "/leaf.pem -noout -text"), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("CA:FALSE"));
  EXPECT_THAT(out, HasSubstr("Digital Signature"));
  EXPECT_THAT(out, HasSubstr("X509v3 Subject Key Identifier"));
  EXPECT_THAT(out, HasSubstr("X509v3 Authority Key Identifier"));
  ksef::testing::RunCommand("rm -rf " + dir);
}

TEST(TestCaTest, RefusesTamperedCsrAndEmptyValidity) {
  auto ca = TestCa::CreateInMemory().value();
  auto key = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256).value();
  std::string csr = csr::BuildCsrDer(BetaSeal(), *key).value();
  std::string tampered = csr;
  tampered[tampered.size() - 5] ^= 0x01;
  auto bad = ca->Issue(tampered, CertificateType::kAuthentication, absl::Now());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ca->Issue("hello", CertificateType::kAuthentication, absl::Now()).ok());
  EXPECT_FALSE(
      ca->Issue(csr, CertificateType::kAuthentication, absl::Now(), absl::ZeroDuration()).ok());
  // An already expired certificate is possible (tests of expiry need it).
  auto expired = ca->Issue(csr, CertificateType::kAuthentication,
                           absl::Now() - absl::Hours(48), absl::Hours(1));
  ASSERT_TRUE(expired.ok());
  EXPECT_LT(ParseCertificateDer(*expired)->not_after, absl::Now());
}

TEST(CertificateBuilderTest, UsesGeneralizedTimeFrom2050) {
  auto key = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256).value();
  CertificateFields f;
  f.serial = RandomSerial();
  f.issuer_name_der = f.subject_name_der = csr::BuildSubjectNameDer(BetaSeal()).value();
  f.subject_public_key_der = key->public_key_der();
  f.not_before = Utc(2049, 6, 1, 0, 0, 0);
  f.not_after = Utc(2051, 6, 1, 0, 0, 0);
  auto der = BuildCertificateDer(f, key->public_key_der(), *key);
  ASSERT_TRUE(der.ok()) << der.status();
  auto info = ParseCertificateDer(*der).value();
  EXPECT_EQ(info.not_before, f.not_before);
  EXPECT_EQ(info.not_after, f.not_after);
  EXPECT_NE(der->find("\x18\x0f" "20510601000000Z"), std::string::npos);
  EXPECT_NE(der->find("\x17\x0d" "490601000000Z"), std::string::npos);
  f.serial = std::string(1, '\0');
  EXPECT_FALSE(BuildCertificateDer(f, key->public_key_der(), *key).ok());
}

TEST(SelfSignedTest, PersonalPeselCertificateHasTheFormKsefTestAccepts) {
  auto key = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256).value();
  SelfSignedSubject s;
  s.form = SelfSignedForm::kPersonal;
  s.identifier_type = SelfSignedSubject::IdentifierType::kPesel;
  s.identifier = "44051401458";
  s.common_name = "Jan Kowalski";
  s.given_name = "Jan";
  s.surname = "Kowalski";
  auto der = IssueSelfSigned(s, CertificateType::kAuthentication, absl::Now(), absl::Hours(24),
                             *key);
  ASSERT_TRUE(der.ok()) << der.status();
  auto info = ParseCertificateDer(*der).value();
  EXPECT_EQ(info.subject, "serialNumber=PNOPL-44051401458,C=PL,GN=Jan,SN=Kowalski,CN=Jan Kowalski");
  EXPECT_EQ(info.issuer, info.subject);
  EXPECT_TRUE(info.digital_signature);
  EXPECT_TRUE(VerifiesWith(*der, key->public_key_der()));
  // And with the openssl command: its own signature checks out.
  const std::string dir = ksef::testing::MakeTempDir("ksef-self-signed");
  std::ofstream(dir + "/self.pem") << CertificateToPem(*der);
  std::string out;
  int rc = ksef::testing::RunCommand(
      absl::StrCat("openssl verify -check_ss_sig -partial_chain -CAfile ", dir, "/self.pem ", dir,
                   "/self.pem"),
      &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr(": OK"));
  ksef::testing::RunCommand("rm -rf " + dir);
}

TEST(SelfSignedTest, SealCertificateCarriesVatplIdentifier) {
  auto key = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kRsa2048).value();
  SelfSignedSubject s;
  s.form = SelfSignedForm::kSeal;
  s.identifier = "5265877635";
  s.common_name = "Beta";
  s.organization_name = "Beta Sp. z o.o.";
  auto der = IssueSelfSigned(s, CertificateType::kOffline, absl::Now(), absl::Hours(24), *key);
  ASSERT_TRUE(der.ok()) << der.status();
  auto info = ParseCertificateDer(*der).value();
  EXPECT_THAT(info.subject, HasSubstr("organizationIdentifier=VATPL-5265877635"));
  EXPECT_THAT(info.subject, HasSubstr("O=Beta Sp. z o.o."));
  EXPECT_THAT(info.subject, ::testing::Not(HasSubstr("GN=")));
  EXPECT_TRUE(info.non_repudiation);
  EXPECT_EQ(info.signature_algorithm, "sha256WithRSAEncryption");
  EXPECT_TRUE(VerifiesWith(*der, key->public_key_der()));
}

TEST(SelfSignedTest, RefusesWrongFieldsNamingThem) {
  SelfSignedSubject s;
  s.form = SelfSignedForm::kSeal;
  s.identifier = "5265877635";
  s.common_name = "Beta";
  s.organization_name = "Beta";
  s.given_name = "Jan";
  auto st = SelfSignedSubjectData(s).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("given_name"));
  s.given_name.clear();
  s.identifier = "5265877636";  // bad check digit
  EXPECT_THAT(SelfSignedSubjectData(s).status().message(), HasSubstr("identifier"));
  s.identifier = "44051401458";
  s.identifier_type = SelfSignedSubject::IdentifierType::kPesel;
  EXPECT_THAT(SelfSignedSubjectData(s).status().message(), HasSubstr("PESEL"));
  s.form = SelfSignedForm::kPersonal;
  s.organization_name.clear();
  s.given_name = "Jan";
  EXPECT_THAT(SelfSignedSubjectData(s).status().message(), HasSubstr("surname"));
}

}  // namespace
}  // namespace ksef::cert
