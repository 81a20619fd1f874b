#include "client/key_names.h"

#include "gtest/gtest.h"

namespace ksef::client {
namespace {

TEST(KeyNamesTest, BareIdGetsThePrefix) {
  EXPECT_EQ(NormalizeKeyName("acme-auth-1"), "keys/acme-auth-1");
  EXPECT_EQ(NormalizeKeyName("  acme-auth-1\n"), "keys/acme-auth-1");
}

TEST(KeyNamesTest, FullNamesAreKept) {
  EXPECT_EQ(NormalizeKeyName("keys/acme-auth-1"), "keys/acme-auth-1");
  // Anything with a slash is passed on; the server judges it.
  EXPECT_EQ(NormalizeKeyName("other/x"), "other/x");
}

TEST(KeyNamesTest, Pkcs11UrisAreKept) {
  EXPECT_EQ(NormalizeKeyName("pkcs11:token=ksef;id=%01;type=private"),
            "pkcs11:token=ksef;id=%01;type=private");
  EXPECT_EQ(NormalizeKeyName("PKCS11:token=ksef;id=%01"), "PKCS11:token=ksef;id=%01");
}

TEST(KeyNamesTest, EmptyStaysEmpty) {
  EXPECT_EQ(NormalizeKeyName(""), "");
  EXPECT_EQ(NormalizeKeyName("   "), "");
}

}  // namespace
}  // namespace ksef::client
