#include "common/encoding.h"

#include <gtest/gtest.h>

namespace ksef {
namespace {

TEST(EncodingTest, Base64RoundTripAndStrictness) {
  EXPECT_EQ(Base64Encode("\x01\x02\x03\xff"), "AQID/w==");
  EXPECT_EQ(*Base64Decode("AQID/w=="), "\x01\x02\x03\xff");
  EXPECT_FALSE(Base64Decode("AQID/w").has_value());    // padding required
  EXPECT_FALSE(Base64Decode("AQI D/w==").has_value());  // no whitespace
  EXPECT_FALSE(Base64Decode("AQID_w==").has_value());   // URL alphabet refused
}

TEST(EncodingTest, Base64UrlHasNoPadding) {
  EXPECT_EQ(Base64UrlEncode("\x01\x02\x03\xff"), "AQID_w");
  EXPECT_EQ(*Base64UrlDecode("AQID_w"), "\x01\x02\x03\xff");
  EXPECT_FALSE(Base64UrlDecode("AQID_w==").has_value());
  EXPECT_FALSE(Base64UrlDecode("AQID/w").has_value());
}

TEST(EncodingTest, Hex) {
  EXPECT_EQ(HexUpper("\x01\xab"), "01AB");
  EXPECT_EQ(*HexDecode("01ab"), "\x01\xab");
  EXPECT_FALSE(HexDecode("1").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

}  // namespace
}  // namespace ksef
