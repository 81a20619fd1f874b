// Enrollment on a real SoftHSM2 token and a real SQLite registry: CSR,
// certificate import and its refusals, self-signed TEST certificates,
// bring-your-own keys, validity and rotation.
#include "service/enrollment.h"
#include "service/signing_gate_testing.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/openssl_ptr.h"
#include "pkcs11/hsm.h"
#include "crypto/software_signer.h"
#include "formats/cert/certificate_info.h"
#include "formats/cert/test_ca.h"
#include "formats/csr/enrollment_request.h"
#include "formats/csr/name_rules.h"
#include "formats/csr/name_rules_testing.h"
#include "service/key_registry_factory.h"
#include "tests/support/shared_hsm_test.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/test_hsm.h"

namespace ksef::service {
namespace {

constexpr char kV5aJson[] =
    R"({"commonName":"Firma Kowalski Certyfikat","countryName":"PL","serialNumber":"ABC123456789",)"
    R"("uniqueIdentifier":"d9d22724-4696-460c-9e5e-b9e3aafb0af3","organizationName":"Firma Kowalski Sp. z o.o.",)"
    R"("organizationIdentifier":"7762811692"})";

using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ, X509_REQ_free>>;

bool HasCode(const absl::Status& s, absl::StatusCode code, absl::string_view text) {
  return s.code() == code && absl::StrContains(s.message(), text);
}

class EnrollmentTest : public ksef::testing::SharedHsmTest {
 protected:
  static void SetUpTestSuite() {
    OpenSharedHsm("enroll-test");
    auto ca = cert::TestCa::CreateInMemory();
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = ca->release();
  }
  static void TearDownTestSuite() {
    delete ca_;
    CloseSharedHsm();
  }

  void SetUp() override {
    dir_ = ksef::testing::MakeTempDir("ksef-enroll");
    OpenManager();
  }
  void TearDown() override {
    enrollment_.reset();
    manager_.reset();
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }
  void OpenManager() {
    enrollment_.reset();
    manager_.reset();
    registry_.reset();
    auto r = OpenKeyRegistry({.kind = "sqlite", .sqlite_path = dir_ + "/keys.db"});
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = std::move(*r);
    auto clock = [this] { return now_; };
    manager_ = std::make_unique<KeyManager>(&hsm_->keys(), registry_.get(), &certificates_,
                                            absl::Hours(24), clock);
    gate_ = std::make_unique<SigningGate>(&hsm_->keys(), &certificates_, clock);
    enrollment_ = std::make_unique<Enrollment>(manager_.get(), clock);
  }
  // As GenerateCsr/IssueSelfSigned ran before the permit (the RPC's order:
  // request values, key lookup, the gate, then the enrollment).
  absl::StatusOr<CsrResult> GenerateCsr(absl::string_view name, const csr::EnrollmentData& data,
                                        const std::string& certificate_name,
                                        std::optional<absl::Time> valid_from) {
    absl::Status checked = Enrollment::CheckCsrRequest(data, certificate_name);
    if (!checked.ok()) return checked;
    auto permit = EnrollmentPermitForTesting(*gate_, *manager_, name);
    if (!permit.ok()) return permit.status();
    return enrollment_->GenerateCsr(*permit, data, certificate_name, valid_from);
  }
  absl::StatusOr<KeyRecord> IssueSelfSigned(absl::string_view name,
                                            const SelfSignedParams& params) {
    absl::Status checked = Enrollment::CheckSelfSignedRequest(params);
    if (!checked.ok()) return checked;
    auto permit = EnrollmentPermitForTesting(*gate_, *manager_, name);
    if (!permit.ok()) return permit.status();
    return enrollment_->IssueSelfSigned(*permit, params);
  }
  // As GetSigningKey(name, purpose) was.
  absl::StatusOr<SigningPermit> SigningKey(absl::string_view name, KeyPurpose purpose) {
    return PermitForTesting(*gate_, *manager_, name, purpose);
  }
  absl::StatusOr<KeyRecord> Create(const std::string& id, KeyPurpose purpose,
                                   SubjectType type = SubjectType::kNip,
                                   const std::string& value = "5265877635") {
    CreateKeyParams p;
    p.key_id = id;
    p.subject_type = type;
    p.subject_value = value;
    p.purpose = purpose;
    return manager_->Create(p);
  }
  // CSR in the token -> local test CA -> certificate DER.
  std::string IssueFor(const std::string& name, cert::CertificateType type,
                       absl::Duration validity = absl::Hours(24 * 730)) {
    auto data = csr::ParseEnrollmentDataJson(kV5aJson);
    EXPECT_TRUE(data.ok());
    auto csr = GenerateCsr(name, *data, "", std::nullopt);
    EXPECT_TRUE(csr.ok()) << csr.status();
    if (!csr.ok()) return "";
    auto der = ca_->Issue(csr->base64, type, now_ - absl::Hours(1), validity);
    EXPECT_TRUE(der.ok()) << der.status();
    return der.ok() ? *der : "";
  }

  static cert::TestCa* ca_;
  std::string dir_;
  absl::Time now_ = absl::Now();
  std::unique_ptr<KeyRegistry> registry_;
  CertificateCache certificates_;
  std::unique_ptr<KeyManager> manager_;
  std::unique_ptr<SigningGate> gate_;
  std::unique_ptr<Enrollment> enrollment_;
};
cert::TestCa* EnrollmentTest::ca_ = nullptr;

TEST_F(EnrollmentTest, CsrFromKsefJsonVerifiesAndRequestBodyIsReady) {
  auto key = Create("csr-auth", KeyPurpose::kAuthentication);
  ASSERT_TRUE(key.ok()) << key.status();
  auto data = csr::ParseEnrollmentDataJson(kV5aJson);
  ASSERT_TRUE(data.ok());
  auto csr = GenerateCsr("keys/csr-auth", *data, "Firma Kowalski łódź_1",
                         absl::FromUnixSeconds(1767225600));
  ASSERT_TRUE(csr.ok()) << csr.status();
  const auto* p = reinterpret_cast<const unsigned char*>(csr->der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, csr->der.size()));
  ASSERT_NE(req, nullptr);
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(X509_REQ_verify(req.get(), pub), 1);
  EXPECT_EQ(csr->request_json,
            "{\"certificateName\":\"Firma Kowalski łódź_1\",\"certificateType\":"
            "\"Authentication\",\"csr\":\"" +
                csr->base64 + "\",\"validFrom\":\"2026-01-01T00:00:00Z\"}");
  EXPECT_TRUE(absl::StartsWith(csr->pem, "-----BEGIN CERTIFICATE REQUEST-----\n"));

  // Offline keys ask for Offline certificates; the default name is valid.
  ASSERT_TRUE(Create("csr-off", KeyPurpose::kOffline).ok());
  auto off = GenerateCsr("keys/csr-off", *data, "", std::nullopt);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_TRUE(absl::StrContains(off->request_json,
                                "\"certificateName\":\"ksef-hsm csr-off\",\"certificateType\":"
                                "\"Offline\""));
  EXPECT_FALSE(absl::StrContains(off->request_json, "validFrom"));
}

TEST_F(EnrollmentTest, CertificateNameFollowsKsefRule) {
  using csr::ValidateCertificateName;
  const char* f = "certificate_name";
  EXPECT_TRUE(ValidateCertificateName("Abc 1", f).ok());
  EXPECT_TRUE(ValidateCertificateName("ŻÓŁW_ąćę-ńśź", f).ok());
  EXPECT_TRUE(HasCode(ValidateCertificateName("abcd", f), absl::StatusCode::kInvalidArgument,
                      "certificate_name: 4 characters; at least 5 required"));
  EXPECT_TRUE(HasCode(ValidateCertificateName(std::string(101, 'a'), f),
                      absl::StatusCode::kInvalidArgument, "101 characters; at most 100 allowed"));
  EXPECT_TRUE(HasCode(ValidateCertificateName(std::string(70000, 'a'), f),
                      absl::StatusCode::kInvalidArgument, "70000 characters; at most 100"));
  EXPECT_TRUE(ValidateCertificateName(std::string(100, 'a'), f).ok());
  EXPECT_TRUE(HasCode(ValidateCertificateName("abc@def", f), absl::StatusCode::kInvalidArgument,
                      "certificate_name: character 4 is not allowed"));
  EXPECT_TRUE(HasCode(ValidateCertificateName("naïve name", f),
                      absl::StatusCode::kInvalidArgument, "certificate_name"));
  EXPECT_TRUE(HasCode(ValidateCertificateName("Abc\n12", f), absl::StatusCode::kInvalidArgument,
                      "control character (U+000A) at position 4"));
  EXPECT_TRUE(HasCode(ValidateCertificateName("Abc\"},\"x\":\"1", f),
                      absl::StatusCode::kInvalidArgument, "is not allowed"));
  EXPECT_TRUE(HasCode(ValidateCertificateName("Abc 1\xFF", f),
                      absl::StatusCode::kInvalidArgument, "not valid UTF-8"));
  ASSERT_TRUE(Create("csr-name", KeyPurpose::kAuthentication).ok());
  auto data = csr::ParseEnrollmentDataJson(kV5aJson);
  auto bad = GenerateCsr("keys/csr-name", *data, "x", std::nullopt);
  EXPECT_TRUE(HasCode(bad.status(), absl::StatusCode::kInvalidArgument, "certificate_name"));
  // A disabled key is not enrolled.
  ASSERT_TRUE(manager_->Disable("keys/csr-name").ok());
  auto disabled = GenerateCsr("keys/csr-name", *data, "", std::nullopt);
  EXPECT_TRUE(HasCode(disabled.status(), absl::StatusCode::kFailedPrecondition, "DISABLED"));
}

// Issue 11: every subject field, every kind of bad value, refused with the
// gRPC field name before the token key signs; the key stays unenrolled.
TEST_F(EnrollmentTest, CsrRefusesEveryBadSubjectValueNamingTheField) {
  ASSERT_TRUE(Create("csr-bad", KeyPurpose::kAuthentication).ok());
  for (csr::NameAttribute a : csr::kAllNameAttributes) {
    const std::string field = absl::StrCat("enrollment_data.", csr::RuleOf(a).proto_field);
    const bool required =
        a == csr::NameAttribute::kCommonName || a == csr::NameAttribute::kCountryName;
    for (const csr::testing::BadNameValue& bad : csr::testing::BadNameValues(a)) {
      if (bad.empty && !required) continue;  // empty optional fields are left out
      SCOPED_TRACE(absl::StrCat(field, " / ", bad.what));
      csr::EnrollmentData data = csr::testing::FullEnrollmentData();
      csr::testing::SetField(data, a, bad.value);
      auto r = GenerateCsr("keys/csr-bad", data, "", std::nullopt);
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(absl::StartsWith(r.status().message(), field + ": ")) << r.status();
      EXPECT_TRUE(absl::StrContains(r.status().message(), bad.empty ? "is empty" : bad.needle))
          << r.status();
      // The JSON form (what EnrollmentService parses) is refused naming the key.
      auto json = csr::ParseEnrollmentDataJson(csr::testing::EnrollmentDataToJson(data));
      EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(absl::StrContains(json.status().message(), csr::RuleOf(a).json_key))
          << json.status();
    }
  }
  auto cert_name = GenerateCsr("keys/csr-bad", csr::testing::FullEnrollmentData(), "Name\twith tab",
                               std::nullopt);
  EXPECT_TRUE(HasCode(cert_name.status(), absl::StatusCode::kInvalidArgument,
                      "certificate_name: contains a control character (U+0009) at position 5"));
  auto key = manager_->Get("keys/csr-bad");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->state, KeyState::kPendingCertificate);
}

TEST_F(EnrollmentTest, LongestSubjectValuesGiveAVerifyingCsrAndCertificate) {
  ASSERT_TRUE(Create("csr-long", KeyPurpose::kOffline).ok());
  csr::EnrollmentData data;
  for (csr::NameAttribute a : csr::kAllNameAttributes) {
    csr::testing::SetField(data, a, csr::testing::LongestValidValue(a));
  }
  ASSERT_EQ(data.common_name.size(), 128u);  // 64 x 'Ż'
  auto csr = GenerateCsr("keys/csr-long", data, std::string(100, 'Z'), std::nullopt);
  ASSERT_TRUE(csr.ok()) << csr.status();
  const auto* p = reinterpret_cast<const unsigned char*>(csr->der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, csr->der.size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req.get(), X509_REQ_get0_pubkey(req.get())), 1);
  auto der = ca_->Issue(csr->base64, cert::CertificateType::kOffline, now_ - absl::Hours(1),
                        absl::Hours(24));
  ASSERT_TRUE(der.ok()) << der.status();
  auto imported = enrollment_->ImportCertificate("keys/csr-long", *der, "");
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->state, KeyState::kActive);
}

TEST_F(EnrollmentTest, SelfSignedRefusesEveryBadParamNamingItAndSignsNothing) {
  ASSERT_TRUE(Create("self-bad", KeyPurpose::kAuthentication).ok());
  struct Param {
    cert::SelfSignedForm form;
    const char* field;
    csr::NameAttribute attribute;
    std::string SelfSignedParams::*member;
  } params[] = {
      {cert::SelfSignedForm::kPersonal, "common_name", csr::NameAttribute::kCommonName,
       &SelfSignedParams::common_name},
      {cert::SelfSignedForm::kPersonal, "given_name", csr::NameAttribute::kGivenName,
       &SelfSignedParams::given_name},
      {cert::SelfSignedForm::kPersonal, "surname", csr::NameAttribute::kSurname,
       &SelfSignedParams::surname},
      {cert::SelfSignedForm::kSeal, "common_name", csr::NameAttribute::kCommonName,
       &SelfSignedParams::common_name},
      {cert::SelfSignedForm::kSeal, "organization_name", csr::NameAttribute::kOrganizationName,
       &SelfSignedParams::organization_name},
  };
  for (const Param& param : params) {
    for (const csr::testing::BadNameValue& bad : csr::testing::BadNameValues(param.attribute)) {
      SCOPED_TRACE(absl::StrCat(param.field, " / ", bad.what));
      SelfSignedParams p;
      p.form = param.form;
      p.common_name = "Jan Kowalski";
      if (param.form == cert::SelfSignedForm::kPersonal) {
        p.given_name = "Jan";
        p.surname = "Kowalski";
      } else {
        p.organization_name = "Beta Sp. z o.o.";
      }
      p.*param.member = bad.value;
      auto r = IssueSelfSigned("keys/self-bad", p);
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(absl::StartsWith(r.status().message(), param.field)) << r.status();
      EXPECT_TRUE(bad.empty || absl::StrContains(r.status().message(), bad.needle))
          << r.status();
    }
  }
  auto key = manager_->Get("keys/self-bad");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->state, KeyState::kPendingCertificate);
  EXPECT_TRUE(key->certificate_der.empty());

  // The boundary: 64 x 'Ż' in every field is accepted and signed.
  SelfSignedParams longest;
  longest.common_name = csr::testing::LongestValidValue(csr::NameAttribute::kCommonName);
  longest.given_name = csr::testing::LongestValidValue(csr::NameAttribute::kGivenName);
  longest.surname = csr::testing::LongestValidValue(csr::NameAttribute::kSurname);
  auto ok = IssueSelfSigned("keys/self-bad", longest);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->state, KeyState::kActive);
}

TEST_F(EnrollmentTest, ImportActivatesKeyAndSurvivesRestart) {
  auto key = Create("imp-ok", KeyPurpose::kAuthentication);
  ASSERT_TRUE(key.ok()) << key.status();
  std::string der = IssueFor("keys/imp-ok", cert::CertificateType::kAuthentication);
  ASSERT_FALSE(der.empty());
  auto info = cert::ParseCertificateDer(der);
  ASSERT_TRUE(info.ok());
  auto imported =
      enrollment_->ImportCertificate("keys/imp-ok", cert::CertificateToPem(der), "");
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->state, KeyState::kActive);
  auto on_token = hsm_->keys().GetCertificate(key->cka_id);
  ASSERT_TRUE(on_token.ok()) << on_token.status();
  EXPECT_EQ(*on_token, der);

  OpenManager();  // restart
  auto got = manager_->Get("keys/imp-ok");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, KeyState::kActive);
  EXPECT_EQ(got->certificate_der, der);
  auto signing = SigningKey("keys/imp-ok", KeyPurpose::kAuthentication);
  ASSERT_TRUE(signing.ok()) << signing.status();
  std::string digest(32, '\x5a');
  auto sig = signing->signer().SignDigest(crypto::SignatureScheme::kEcdsaSha256, digest);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(crypto::VerifyDigestSignature(info->public_key_der,
                                         crypto::SignatureScheme::kEcdsaSha256, digest, *sig)
                  .ok());
}

TEST_F(EnrollmentTest, ImportRefusesWrongKeyWrongUsageAndExpiredAndLeavesTokenUnchanged) {
  auto key = Create("imp-bad", KeyPurpose::kAuthentication);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(Create("imp-other", KeyPurpose::kAuthentication).ok());
  ASSERT_TRUE(Create("imp-offline", KeyPurpose::kOffline).ok());

  // A certificate for another key.
  std::string other = IssueFor("keys/imp-other", cert::CertificateType::kAuthentication);
  auto r = enrollment_->ImportCertificate("keys/imp-bad", other, "");
  EXPECT_TRUE(HasCode(r.status(), absl::StatusCode::kInvalidArgument, "public key")) << r.status();
  // The right key, but an Offline certificate for an Authentication key.
  std::string wrong_usage = IssueFor("keys/imp-bad", cert::CertificateType::kOffline);
  r = enrollment_->ImportCertificate("keys/imp-bad", wrong_usage, "");
  EXPECT_TRUE(HasCode(r.status(), absl::StatusCode::kInvalidArgument, "digitalSignature"))
      << r.status();
  // And an Authentication certificate for an Offline key.
  std::string auth_for_offline =
      IssueFor("keys/imp-offline", cert::CertificateType::kAuthentication);
  r = enrollment_->ImportCertificate("keys/imp-offline", auth_for_offline, "");
  EXPECT_TRUE(HasCode(r.status(), absl::StatusCode::kInvalidArgument, "nonRepudiation"))
      << r.status();
  // Expired already.
  auto data = csr::ParseEnrollmentDataJson(kV5aJson);
  auto csr = GenerateCsr("keys/imp-bad", *data, "", std::nullopt);
  ASSERT_TRUE(csr.ok());
  auto old = ca_->Issue(csr->base64, cert::CertificateType::kAuthentication,
                        now_ - absl::Hours(48), absl::Hours(24));
  ASSERT_TRUE(old.ok());
  r = enrollment_->ImportCertificate("keys/imp-bad", *old, "");
  EXPECT_TRUE(HasCode(r.status(), absl::StatusCode::kInvalidArgument, "expired")) << r.status();
  // Garbage.
  r = enrollment_->ImportCertificate("keys/imp-bad", "not a certificate", "");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);

  // Nothing changed: no certificate on the token, key still pending.
  EXPECT_EQ(hsm_->keys().GetCertificate(key->cka_id).status().code(),
            absl::StatusCode::kNotFound);
  auto got = manager_->Get("keys/imp-bad");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, KeyState::kPendingCertificate);
  EXPECT_TRUE(got->certificate_der.empty());
}

TEST_F(EnrollmentTest, SigningNeedsActiveValidKeyOfThePurpose) {
  ASSERT_TRUE(Create("sig-a", KeyPurpose::kAuthentication).ok());
  auto pending = SigningKey("keys/sig-a", KeyPurpose::kAuthentication);
  EXPECT_TRUE(HasCode(pending.status(), absl::StatusCode::kFailedPrecondition, "no certificate"));
  std::string der = IssueFor("keys/sig-a", cert::CertificateType::kAuthentication,
                             absl::Hours(24 * 10));
  ASSERT_TRUE(enrollment_->ImportCertificate("keys/sig-a", der, "").ok());
  EXPECT_TRUE(SigningKey("keys/sig-a", KeyPurpose::kAuthentication).ok());
  auto wrong = SigningKey("keys/sig-a", KeyPurpose::kOffline);
  EXPECT_TRUE(HasCode(wrong.status(), absl::StatusCode::kFailedPrecondition, "OFFLINE key"));

  // Expiring within 30 days: listed, and warned about.
  KeyFilter filter;
  filter.certificate_expires_before = now_ + absl::Hours(24 * 30);
  std::string next;
  int total = 0;
  auto listed = manager_->List(filter, "", 50, &next, &total);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().key_id, "sig-a");
  filter.certificate_expires_before = now_ + absl::Hours(24 * 5);
  listed = manager_->List(filter, "", 50, &next, &total);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  auto expiring = manager_->KeysExpiringWithin(absl::Hours(24 * 30));
  ASSERT_TRUE(expiring.ok());
  ASSERT_EQ(expiring->size(), 1u);

  // Eleven days later the certificate has expired.
  now_ += absl::Hours(24 * 11);
  auto expired = SigningKey("keys/sig-a", KeyPurpose::kAuthentication);
  EXPECT_TRUE(HasCode(expired.status(), absl::StatusCode::kFailedPrecondition, "expired"))
      << expired.status();
  EXPECT_EQ(manager_->Get("keys/sig-a")->state, KeyState::kExpired);

  // Rotation: a new key for the same subject and purpose is enrolled and
  // becomes active while the old one still exists.
  ASSERT_TRUE(Create("sig-a2", KeyPurpose::kAuthentication).ok());
  std::string der2 = IssueFor("keys/sig-a2", cert::CertificateType::kAuthentication);
  ASSERT_TRUE(enrollment_->ImportCertificate("keys/sig-a2", der2, "").ok());
  EXPECT_TRUE(SigningKey("keys/sig-a2", KeyPurpose::kAuthentication).ok());

  ASSERT_TRUE(manager_->Disable("keys/sig-a2").ok());
  auto disabled = SigningKey("keys/sig-a2", KeyPurpose::kAuthentication);
  EXPECT_TRUE(HasCode(disabled.status(), absl::StatusCode::kFailedPrecondition, "DISABLED"));
}

TEST_F(EnrollmentTest, SelfSignedTestCertificatesInBothForms) {
  ASSERT_TRUE(Create("self-p", KeyPurpose::kAuthentication, SubjectType::kPesel,
                     "44051401458").ok());
  SelfSignedParams personal;
  personal.form = cert::SelfSignedForm::kPersonal;
  personal.common_name = "Jan Kowalski";
  personal.given_name = "Jan";
  personal.surname = "Kowalski";
  auto p = IssueSelfSigned("keys/self-p", personal);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->state, KeyState::kActive);
  auto pinfo = cert::ParseCertificateDer(p->certificate_der);
  ASSERT_TRUE(pinfo.ok());
  EXPECT_TRUE(absl::StrContains(pinfo->subject, "PNOPL-44051401458")) << pinfo->subject;
  EXPECT_EQ(pinfo->subject, pinfo->issuer);
  EXPECT_TRUE(pinfo->digital_signature);

  ASSERT_TRUE(Create("self-s", KeyPurpose::kOffline).ok());
  SelfSignedParams seal;
  seal.form = cert::SelfSignedForm::kSeal;
  seal.common_name = "Beta";
  seal.organization_name = "Beta Sp. z o.o.";
  auto s = IssueSelfSigned("keys/self-s", seal);
  ASSERT_TRUE(s.ok()) << s.status();
  auto sinfo = cert::ParseCertificateDer(s->certificate_der);
  ASSERT_TRUE(sinfo.ok());
  EXPECT_TRUE(absl::StrContains(sinfo->subject, "VATPL-5265877635")) << sinfo->subject;
  EXPECT_TRUE(sinfo->non_repudiation);
  EXPECT_FALSE(sinfo->digital_signature);

  // A seal for a PESEL subject, a fingerprint subject, missing fields.
  ASSERT_TRUE(Create("self-x", KeyPurpose::kAuthentication, SubjectType::kPesel,
                     "44051401458").ok());
  EXPECT_EQ(IssueSelfSigned("keys/self-x", seal).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Create("self-f", KeyPurpose::kAuthentication,
                     SubjectType::kCertificateFingerprint, std::string(64, 'A')).ok());
  EXPECT_EQ(IssueSelfSigned("keys/self-f", personal).status().code(),
            absl::StatusCode::kFailedPrecondition);
  SelfSignedParams incomplete = personal;
  incomplete.given_name.clear();
  auto bad = IssueSelfSigned("keys/self-x", incomplete);
  EXPECT_TRUE(HasCode(bad.status(), absl::StatusCode::kInvalidArgument, "given_name"));
  incomplete = personal;
  incomplete.validity_days = 731;
  EXPECT_TRUE(HasCode(IssueSelfSigned("keys/self-x", incomplete).status(),
                      absl::StatusCode::kInvalidArgument, "validity_days"));
}

TEST_F(EnrollmentTest, BringYourOwnKeyIsImportedSensitiveAndChecked) {
  // A key pair as the KSeF web app hands it out: encrypted PKCS#8 + cert.
  auto soft = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256);
  ASSERT_TRUE(soft.ok());
  EvpPkeyPtr pkey(EVP_EC_gen("P-256"));
  ASSERT_NE(pkey, nullptr);
  BioPtr bio(BIO_new(BIO_s_mem()));
  const char kPassword[] = "correct horse 7";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey.get(), EVP_aes_256_cbc(), kPassword,
                                          sizeof(kPassword) - 1, nullptr, nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string key_file(data, len);
  // Its certificate, via a CSR the test signs in software.
  unsigned char* spki = nullptr;
  int spki_len = i2d_PUBKEY(pkey.get(), &spki);
  ASSERT_GT(spki_len, 0);
  std::string spki_der(reinterpret_cast<char*>(spki), spki_len);
  OPENSSL_free(spki);
  X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_pubkey(req.get(), pkey.get());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Beta"), -1, -1, 0);
  ASSERT_GT(X509_REQ_sign(req.get(), pkey.get(), EVP_sha256()), 0);
  unsigned char* req_der = nullptr;
  int req_len = i2d_X509_REQ(req.get(), &req_der);
  std::string csr(reinterpret_cast<char*>(req_der), req_len);
  OPENSSL_free(req_der);
  auto cert = ca_->Issue(csr, cert::CertificateType::kOffline, now_ - absl::Hours(1),
                         absl::Hours(24 * 365));
  ASSERT_TRUE(cert.ok()) << cert.status();

  ImportKeyParams params;
  params.key_id = "byo";
  params.subject_type = SubjectType::kNip;
  params.subject_value = "5265877635";
  params.purpose = KeyPurpose::kOffline;
  auto before = hsm_->keys().List();
  ASSERT_TRUE(before.ok());

  // Wrong password, a certificate of another key, the wrong purpose: refused,
  // nothing written.
  auto r = enrollment_->ImportKey(params, key_file, SecureString("Zebra-99-secret"),
                                  cert::CertificateToPem(*cert));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_FALSE(absl::StrContains(r.status().message(), "Zebra")) << r.status();
  std::string other = IssueFor(
      (Create("byo-other", KeyPurpose::kOffline)->name()), cert::CertificateType::kOffline);
  before = hsm_->keys().List();
  r = enrollment_->ImportKey(params, key_file, SecureString(kPassword), other);
  EXPECT_TRUE(HasCode(r.status(), absl::StatusCode::kInvalidArgument, "public key")) << r.status();
  ImportKeyParams auth = params;
  auth.purpose = KeyPurpose::kAuthentication;
  r = enrollment_->ImportKey(auth, key_file, SecureString(kPassword), *cert);
  EXPECT_TRUE(HasCode(r.status(), absl::StatusCode::kInvalidArgument, "digitalSignature"))
      << r.status();
  auto after = hsm_->keys().List();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), before->size());
  EXPECT_EQ(manager_->Get("keys/byo").status().code(), absl::StatusCode::kNotFound);

  auto imported = enrollment_->ImportKey(params, key_file, SecureString(kPassword), *cert);
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->state, KeyState::kActive);
  EXPECT_FALSE(imported->attestation.local);
  EXPECT_TRUE(imported->attestation.sensitive);
  EXPECT_FALSE(imported->attestation.extractable);
  EXPECT_EQ(imported->public_key_der, spki_der);
  auto signing = SigningKey("keys/byo", KeyPurpose::kOffline);
  ASSERT_TRUE(signing.ok()) << signing.status();
  std::string digest(32, '\x11');
  auto sig = signing->signer().SignDigest(crypto::SignatureScheme::kEcdsaSha256, digest);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(
      crypto::VerifyDigestSignature(spki_der, crypto::SignatureScheme::kEcdsaSha256, digest, *sig).ok());
  OpenManager();
  auto got = manager_->Get("keys/byo");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, KeyState::kActive);
  EXPECT_FALSE(got->attestation.local);
}

}  // namespace
}  // namespace ksef::service
