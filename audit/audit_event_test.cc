#include "audit/audit_event.h"

#include "gtest/gtest.h"

namespace ksef::audit {
namespace {

TEST(BoundedTextTest, KeepsOrdinaryTextAsIs) {
  EXPECT_EQ(BoundedText("keys/auth-1 Zażółć", 256), "keys/auth-1 Zażółć");
}

TEST(BoundedTextTest, EscapesControlsAndInvalidUtf8) {
  EXPECT_EQ(BoundedText(std::string("a\0b\nc\x7f", 6), 256), "a\\x00b\\x0ac\\x7f");
  EXPECT_EQ(BoundedText("\xc2\x85", 256), "\\u0085");        // C1 NEL
  EXPECT_EQ(BoundedText("x\xff\xc3", 256), "x\\xff\\xc3");   // not UTF-8
}

TEST(BoundedTextTest, CutsLongTextAtACharacterBoundary) {
  std::string big(3 << 20, 'A');
  std::string out = BoundedText(big, 256);
  EXPECT_LT(out.size(), 300u);
  EXPECT_NE(out.find("(3145728 bytes)"), std::string::npos);
  std::string zs;
  for (int i = 0; i < 200; ++i) zs += "ż";  // 2 bytes each
  out = BoundedText(zs, 255);
  EXPECT_EQ(out.substr(0, 254), zs.substr(0, 254));
  EXPECT_EQ(out.substr(254, 4), "...(");
}

TEST(BoundEventFieldsTest, BoundsEveryCallerSuppliedField) {
  AuditEvent e;
  const std::string big(1 << 20, 'x');
  e.key_name = big;
  e.subject = big;
  e.context = big;
  e.message = big;
  e.peer = big;
  e.caller.subject = big;
  BoundEventFields(e);
  EXPECT_LE(e.key_name.size(), kMaxEventFieldBytes + 32);
  EXPECT_LE(e.subject.size(), kMaxEventFieldBytes + 32);
  EXPECT_LE(e.context.size(), kMaxEventFieldBytes + 32);
  EXPECT_LE(e.peer.size(), kMaxEventFieldBytes + 32);
  EXPECT_LE(e.message.size(), kMaxEventMessageBytes + 32);
  EXPECT_LE(e.caller.subject.size(), kMaxEventNameBytes + 32);
}

TEST(EventHashTest, PeerAndCountAreCoveredWhenSet) {
  AuditEvent e;
  e.operation = "GetKey";
  const std::string plain = EventHash(e);
  e.peer = "ipv4:10.0.0.7:1";
  const std::string with_peer = EventHash(e);
  EXPECT_NE(plain, with_peer);
  e.count = 5;
  EXPECT_NE(EventHash(e), with_peer);
  // Unset (as in events written before these fields): the v1 encoding.
  e.peer.clear();
  e.count = 1;
  EXPECT_EQ(EventHash(e), plain);
}

}  // namespace
}  // namespace ksef::audit
