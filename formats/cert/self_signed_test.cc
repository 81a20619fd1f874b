// Self-signed TEST certificates: every text parameter of both forms against
// every kind of bad value (refused before the key signs anything, naming
// the parameter), and the longest valid values (64 x 'Ż') accepted.
#include "formats/cert/self_signed.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "crypto/software_signer.h"
#include "formats/cert/certificate_info.h"
#include "formats/csr/name_rules.h"
#include "formats/csr/name_rules_testing.h"

namespace ksef::cert {
namespace {

using ::ksef::csr::NameAttribute;
using ::ksef::csr::testing::BadNameValue;
using ::ksef::csr::testing::BadNameValues;
using ::ksef::csr::testing::LongestValidValue;
using ::ksef::csr::testing::CountingSigner;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Param {
  const char* field;  // as SelfSignedSubject (and the gRPC request) names it
  NameAttribute attribute;
  std::string SelfSignedSubject::*member;
};

SelfSignedSubject Personal() {
  SelfSignedSubject s;
  s.form = SelfSignedForm::kPersonal;
  s.identifier = "5265877635";
  s.common_name = "Jan Kowalski";
  s.given_name = "Jan";
  s.surname = "Kowalski";
  return s;
}

SelfSignedSubject Seal() {
  SelfSignedSubject s;
  s.form = SelfSignedForm::kSeal;
  s.identifier = "5265877635";
  s.common_name = "Beta";
  s.organization_name = "Beta Sp. z o.o.";
  return s;
}

const Param kPersonalParams[] = {
    {"common_name", NameAttribute::kCommonName, &SelfSignedSubject::common_name},
    {"given_name", NameAttribute::kGivenName, &SelfSignedSubject::given_name},
    {"surname", NameAttribute::kSurname, &SelfSignedSubject::surname},
    {"country_name", NameAttribute::kCountryName, &SelfSignedSubject::country_name},
};
const Param kSealParams[] = {
    {"common_name", NameAttribute::kCommonName, &SelfSignedSubject::common_name},
    {"organization_name", NameAttribute::kOrganizationName, &SelfSignedSubject::organization_name},
    {"country_name", NameAttribute::kCountryName, &SelfSignedSubject::country_name},
};

void ExpectEveryBadValueRefused(const SelfSignedSubject& good, const Param& p) {
  CountingSigner signer;
  for (const BadNameValue& bad : BadNameValues(p.attribute)) {
    SCOPED_TRACE(absl::StrCat(p.field, " / ", bad.what));
    SelfSignedSubject s = good;
    s.*p.member = bad.value;
    auto der =
        IssueSelfSigned(s, CertificateType::kAuthentication, absl::Now(), absl::Hours(24), signer);
    EXPECT_EQ(der.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(der.status().message());
    EXPECT_THAT(message, StartsWith(p.field));
    if (bad.empty) {
      EXPECT_THAT(message, ::testing::AnyOf(HasSubstr("is required"), HasSubstr("is empty")));
    } else {
      EXPECT_THAT(message, HasSubstr(bad.needle));
    }
    EXPECT_LT(message.size(), 200u);
  }
  EXPECT_EQ(signer.calls, 0) << "nothing may be signed for a refused value";
}

TEST(SelfSignedValidationTest, PersonalParamsRefuseEveryBadValue) {
  for (const Param& p : kPersonalParams) ExpectEveryBadValueRefused(Personal(), p);
}

TEST(SelfSignedValidationTest, SealParamsRefuseEveryBadValue) {
  for (const Param& p : kSealParams) ExpectEveryBadValueRefused(Seal(), p);
}

TEST(SelfSignedValidationTest, LongestValuesAreAcceptedAndSigned) {
  for (bool personal : {true, false}) {
    SelfSignedSubject s = personal ? Personal() : Seal();
    for (const Param& p :
         personal ? absl::MakeConstSpan(kPersonalParams) : absl::MakeConstSpan(kSealParams)) {
      s.*p.member = LongestValidValue(p.attribute);
    }
    CountingSigner signer;
    auto der = IssueSelfSigned(s, CertificateType::kOffline, absl::Now(), absl::Hours(24), signer);
    ASSERT_TRUE(der.ok()) << der.status();
    EXPECT_EQ(signer.calls, 1);
    auto info = ParseCertificateDer(*der);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_THAT(info->subject, HasSubstr(s.common_name));
  }
}

}  // namespace
}  // namespace ksef::cert
