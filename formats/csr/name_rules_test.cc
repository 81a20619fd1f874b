// name_rules: the bounds table, the text check (every kind of bad value,
// the boundaries in characters, not bytes) and the messages (field first,
// actionable, never the value).
#include "formats/csr/name_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "formats/csr/asn1_der.h"

namespace ksef::csr {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Repeat(absl::string_view unit, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&out, unit);
  return out;
}

void ExpectRefused(const absl::Status& s, absl::string_view field, absl::string_view needle) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), StartsWith(absl::StrCat(field, ": "))) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(needle)) << s;
  EXPECT_LT(s.message().size(), 200u) << "the message must not carry the value";
}

TEST(NameRulesTest, BoundsFollowRfc5280AndTheDocumentedChoices) {
  EXPECT_EQ(RuleOf(NameAttribute::kCommonName).max_chars, 64u);
  EXPECT_EQ(RuleOf(NameAttribute::kOrganizationName).max_chars, 64u);
  EXPECT_EQ(RuleOf(NameAttribute::kSerialNumber).max_chars, 64u);
  EXPECT_EQ(RuleOf(NameAttribute::kCountryName).min_chars, 2u);
  EXPECT_EQ(RuleOf(NameAttribute::kCountryName).max_chars, 2u);
  EXPECT_EQ(RuleOf(NameAttribute::kSurname).max_chars, 128u);
  EXPECT_EQ(RuleOf(NameAttribute::kGivenName).max_chars, 128u);
  EXPECT_EQ(RuleOf(NameAttribute::kOrganizationIdentifier).max_chars, 64u);
  EXPECT_EQ(RuleOf(NameAttribute::kUniqueIdentifier).max_chars, 64u);
  EXPECT_EQ(RuleOf(NameAttribute::kSerialNumber).string_tag, kTagPrintableString);
  EXPECT_EQ(RuleOf(NameAttribute::kCommonName).string_tag, kTagUtf8String);
  EXPECT_STREQ(RuleOf(NameAttribute::kGivenName).json_key, "givenName");
  EXPECT_STREQ(RuleOf(NameAttribute::kGivenName).proto_field, "given_name");
}

TEST(NameRulesTest, RefusesEveryControlCharacterNamingCodePointAndPosition) {
  struct Case {
    std::string value;
    const char* needle;
  } cases[] = {
      {std::string("Jan\0Kowalski", 12), "(U+0000) at position 4"},
      {"Jan\nKowalski", "(U+000A) at position 4"},
      {"Jan\rKowalski", "(U+000D) at position 4"},
      {"Jan\tKowalski", "(U+0009) at position 4"},
      {"\x1b[31mRed", "(U+001B) at position 1"},
      {"Jan\x7f", "(U+007F) at position 4"},
      {"Żółw\xC2\x85", "(U+0085) at position 5"},  // C1 NEL, after 4 two-byte letters
      {"A\xC2\x80", "(U+0080) at position 2"},
      {"A\xC2\x9F", "(U+009F) at position 2"},
  };
  for (const Case& c : cases) {
    ExpectRefused(ValidateText(c.value, "f", 1, 64), "f", c.needle);
    ExpectRefused(ValidateNameValue(NameAttribute::kCommonName, c.value, "x.common_name"),
                  "x.common_name", "control character");
  }
  // Just outside the ranges: U+00A0 (no-break space) and U+007E are text.
  EXPECT_TRUE(ValidateText("A\xC2\xA0~", "f", 1, 64).ok());
}

TEST(NameRulesTest, RefusesInvalidUtf8WithTheByteOffset) {
  const char* bad[] = {"\xFF", "ab\xC3", "ab\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80"};
  for (const char* value : bad) {
    ExpectRefused(ValidateText(value, "surname", 1, 128), "surname", "not valid UTF-8");
  }
  ExpectRefused(ValidateText("ab\xC3", "f", 1, 64), "f", "byte offset 2");
}

TEST(NameRulesTest, CountsCharactersNotBytes) {
  EXPECT_TRUE(ValidateText(Repeat("a", 64), "f", 1, 64).ok());
  EXPECT_TRUE(ValidateText(Repeat("Ż", 64), "f", 1, 64).ok());                 // 128 bytes
  EXPECT_TRUE(ValidateText(Repeat("\xF0\x9F\x98\x80", 64), "f", 1, 64).ok());  // 256 bytes
  ExpectRefused(ValidateText(Repeat("a", 65), "f", 1, 64), "f",
                "65 characters; at most 64 allowed");
  ExpectRefused(ValidateText(Repeat("Ż", 65), "f", 1, 64), "f",
                "65 characters; at most 64 allowed");
  ExpectRefused(ValidateText(Repeat("a", 70000), "enrollment_data.common_name", 1, 64),
                "enrollment_data.common_name", "70000 characters; at most 64 allowed");
  ExpectRefused(ValidateText("abcd", "certificate_name", 5, 100), "certificate_name",
                "4 characters; at least 5 required");
}

TEST(NameRulesTest, RefusesEmptyRequiredValues) {
  for (NameAttribute a : kAllNameAttributes) {
    ExpectRefused(ValidateNameValue(a, "", "f"), "f", "is empty");
  }
  EXPECT_TRUE(ValidateText("", "f", 0, 64).ok());
}

TEST(NameRulesTest, KeepsTheStringTypeChecks) {
  ExpectRefused(ValidateNameValue(NameAttribute::kSerialNumber, "TINPL_1", "serial_number"),
                "serial_number", "PrintableString");
  ExpectRefused(ValidateNameValue(NameAttribute::kSerialNumber, "ŁÓDŹ", "serial_number"),
                "serial_number", "PrintableString");
  EXPECT_TRUE(ValidateNameValue(NameAttribute::kSerialNumber, "TINPL-1234567890", "s").ok());
  ExpectRefused(ValidateNameValue(NameAttribute::kCountryName, "P1", "country_name"),
                "country_name", "two letters");
  ExpectRefused(ValidateNameValue(NameAttribute::kCountryName, "POL", "country_name"),
                "country_name", "at most 2");
  ExpectRefused(ValidateNameValue(NameAttribute::kCountryName, "Ł", "country_name"), "country_name",
                "at least 2");
  EXPECT_TRUE(ValidateNameValue(NameAttribute::kCountryName, "PL", "c").ok());
}

}  // namespace
}  // namespace ksef::csr
