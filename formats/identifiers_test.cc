#include "formats/identifiers.h"

#include <gtest/gtest.h>

namespace ksef {
namespace {

TEST(IdentifiersTest, Nip) {
  EXPECT_TRUE(ValidateNip("5265877635", "nip").ok());  // official KSeF TEST NIP
  EXPECT_TRUE(ValidateNip("1111111111", "nip").ok());
  // 1234567890: sum mod 11 is 10, never valid (vectors.md V1b note).
  auto s = ValidateNip("1234567890", "subject.value");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("subject.value"), std::string::npos);
  EXPECT_NE(s.message().find("check digit"), std::string::npos);
  EXPECT_FALSE(ValidateNip("5265877636", "nip").ok());
  EXPECT_FALSE(ValidateNip("526587763", "nip").ok());
  EXPECT_FALSE(ValidateNip("52658776a5", "nip").ok());
}

TEST(IdentifiersTest, Pesel) {
  EXPECT_TRUE(ValidatePesel("44051401359", "pesel").ok());
  EXPECT_TRUE(ValidatePesel("02070803628", "pesel").ok());
  EXPECT_FALSE(ValidatePesel("44051401358", "pesel").ok());
  EXPECT_FALSE(ValidatePesel("4405140135", "pesel").ok());
}

TEST(IdentifiersTest, Fingerprint) {
  std::string fp(64, 'a');
  auto n = NormalizeFingerprint(fp, "fp");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, std::string(64, 'A'));
  EXPECT_FALSE(NormalizeFingerprint(std::string(63, 'a'), "fp").ok());
  EXPECT_FALSE(NormalizeFingerprint(std::string(64, 'g'), "fp").ok());
}

}  // namespace
}  // namespace ksef
