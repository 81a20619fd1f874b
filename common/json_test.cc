#include "common/json.h"

#include <gtest/gtest.h>

namespace ksef {
namespace {

TEST(JsonTest, ParsesNestedDocument) {
  auto v = ParseJson(R"( {"a":[1,-2.5e3,"x\u0105\ud83d\ude00"],"b":{"c":null,"d":true},"e":false} )",
                     "doc");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->is_object());
  const JsonValue* a = v->Find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items.size(), 3u);
  EXPECT_EQ(a->items[0].text, "1");
  EXPECT_EQ(a->items[1].text, "-2.5e3");
  EXPECT_EQ(a->items[2].text, "x\xc4\x85\xf0\x9f\x98\x80");
  EXPECT_EQ(v->Find("b")->Find("c")->type, JsonValue::Type::kNull);
  EXPECT_TRUE(v->Find("b")->Find("d")->boolean);
  EXPECT_EQ(v->Find("e")->type, JsonValue::Type::kBool);
  EXPECT_EQ(v->Find("missing"), nullptr);
}

TEST(JsonTest, KeepsDuplicateMembersInOrder) {
  auto v = ParseJson(R"({"k":"1","k":"2"})", "doc");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->members.size(), 2u);
  EXPECT_EQ(v->members[1].second.text, "2");
}

TEST(JsonTest, RefusesMalformedInputWithOffset) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "01", "\"\\ud800\"", "\"\\u0000\"",
                          "{\"a\":1} x", "tru", "\"a\x01\"", "1.", "-"}) {
    auto v = ParseJson(bad, "doc");
    EXPECT_FALSE(v.ok()) << bad;
    EXPECT_NE(v.status().message().find("doc: malformed JSON"), std::string::npos) << bad;
  }
}

TEST(JsonTest, LimitsNesting) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(ParseJson(deep, "doc").ok());
  EXPECT_TRUE(ParseJson(std::string(10, '[') + std::string(10, ']'), "doc").ok());
}

}  // namespace
}  // namespace ksef
