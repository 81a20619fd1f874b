#include "client/cli/enum_names.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
using ::testing::HasSubstr;

TEST(EnumNamesTest, ParsesCanonicalWordsAndProtoSpellings) {
  EXPECT_EQ(ParseSubjectType("nip").value(), v1::KsefSubject::NIP);
  EXPECT_EQ(ParseSubjectType("PESEL").value(), v1::KsefSubject::PESEL);
  EXPECT_EQ(ParseSubjectType("fingerprint").value(), v1::KsefSubject::CERTIFICATE_FINGERPRINT);
  EXPECT_EQ(ParseSubjectType("CERTIFICATE_FINGERPRINT").value(),
            v1::KsefSubject::CERTIFICATE_FINGERPRINT);
  EXPECT_EQ(ParsePurpose("authentication").value(), v1::AUTHENTICATION);
  EXPECT_EQ(ParsePurpose("Offline").value(), v1::OFFLINE);
  EXPECT_EQ(ParseAlgorithm("ec-p256").value(), v1::EC_P256);
  EXPECT_EQ(ParseAlgorithm("RSA_2048").value(), v1::RSA_2048);
  EXPECT_EQ(ParseState("pending-certificate").value(), v1::PENDING_CERTIFICATE);
  EXPECT_EQ(ParseState("scheduled_for_destruction").value(), v1::SCHEDULED_FOR_DESTRUCTION);
  EXPECT_EQ(ParseState("destroyed").value(), v1::DESTROYED);
}

TEST(EnumNamesTest, RejectsUnknownAndUnspecified) {
  auto purpose = ParsePurpose("signing", "--purpose");
  ASSERT_FALSE(purpose.ok());
  EXPECT_EQ(purpose.status().message(),
            "invalid --purpose \"signing\" (expected one of: authentication, offline)");
  EXPECT_FALSE(ParseState("unspecified").ok());
  EXPECT_FALSE(ParseAlgorithm("").ok());
  EXPECT_THAT(ParseState("x").status().message(), HasSubstr("invalid state"));
}

TEST(EnumNamesTest, WordsRoundTrip) {
  for (int s = v1::KeyState_MIN + 1; s <= v1::KeyState_MAX; ++s) {
    auto state = static_cast<v1::KeyState>(s);
    EXPECT_EQ(ParseState(StateWord(state)).value(), state);
  }
  EXPECT_EQ(StateWord(v1::KEY_STATE_UNSPECIFIED), "unspecified");
  EXPECT_EQ(StateWord(static_cast<v1::KeyState>(42)), "unknown(42)");
  EXPECT_EQ(SubjectTypeWord(v1::KsefSubject::CERTIFICATE_FINGERPRINT), "fingerprint");
  EXPECT_EQ(AlgorithmWord(v1::RSA_2048), "rsa-2048");
  EXPECT_EQ(PurposeWord(v1::OFFLINE), "offline");
  EXPECT_EQ(StateWords(),
            "pending-certificate, active, disabled, expired, scheduled-for-destruction, "
            "destroyed");
}

}  // namespace
}  // namespace ksef::client
