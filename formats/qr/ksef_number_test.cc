// The KSeF number printed under KOD I: the documented example, the CRC-8,
// and refusals (length, layout, date, checksum, control characters) that
// name the field and stay short.
#include "formats/qr/ksef_number.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "formats/qr/fields.h"

namespace ksef::qr {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kExample[] = "5265877635-20250826-0100001AF629-AF";  // KSeF docs example

void ExpectRefused(absl::string_view number, absl::string_view needle) {
  absl::Status s = ValidateKsefNumber(number, "ksef_number");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << number.substr(0, 40);
  EXPECT_THAT(std::string(s.message()), StartsWith("ksef_number: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr(needle));
  EXPECT_LT(s.message().size(), 250u);
}

TEST(KsefNumberTest, AcceptsTheDocumentedExample) {
  EXPECT_TRUE(ValidateKsefNumber(kExample, "ksef_number").ok());
  EXPECT_EQ(KsefNumberCrc8("5265877635-20250826-0100001AF629"), 0xAF);
  EXPECT_EQ(KsefNumberCrc8(""), 0x00);
  EXPECT_EQ(KsefNumberCrc8("123456789"), 0xF4);  // the CRC-8 (poly 0x07) check value
}

TEST(KsefNumberTest, RefusesWrongLengthWithoutQuotingIt) {
  ExpectRefused("", "0 bytes long");
  ExpectRefused(std::string(kExample) + "\n", "36 bytes long");
  ExpectRefused(std::string(70000, '1'), "70000 bytes long");
  ExpectRefused("5265877635-20250826-0100001AF629-A", "34 bytes long");
}

TEST(KsefNumberTest, RefusesBadLayoutAndControlCharacters) {
  const char* bad[] = {
      "5265877635-20250826-0100001AF629\nAF",  // newline instead of '-'
      "5265877635-20250826-0100001af629-AF",   // lowercase hex
      "5265877635_20250826-0100001AF629-AF",  "526587763X-20250826-0100001AF629-AF",
      "5265877635-2025O826-0100001AF629-AF",  "5265877635-20250826-0100001AF629-af",
      "5265877635-20250826-0100001AF62\t-AF",
  };
  for (const char* number : bad) ExpectRefused(number, "not a KSeF number");
  ExpectRefused(std::string("5265877635-20250826-0100001AF629-A\0", 35), "not a KSeF number");
}

TEST(KsefNumberTest, RefusesImpossibleDatesAndWrongChecksums) {
  ExpectRefused("5265877635-20250230-0100001AF629-00", "not a real date");
  ExpectRefused("5265877635-20251301-0100001AF629-00", "not a real date");
  ExpectRefused("5265877635-20250826-0100001AF629-AE", "checksum is AE, expected AF");
  ExpectRefused("5265877635-20250826-0100001AF628-AF", "checksum");
}

TEST(KsefNumberTest, LabelMayBeEmptyForOffline) {
  EXPECT_TRUE(ValidateKsefNumberLabel("", "ksef_number").ok());
  EXPECT_TRUE(ValidateKsefNumberLabel(kExample, "ksef_number").ok());
  EXPECT_EQ(ValidateKsefNumberLabel("OFFLINE\n", "ksef_number").code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ksef::qr
