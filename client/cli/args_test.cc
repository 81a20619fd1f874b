#include "client/cli/args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr FlagSpec kSpecs[] = {
    {"server", "HOST:PORT", "address"},
    {"plaintext", "", "no TLS"},
    {"subject", "VALUE", "subject"},
    {"purpose", "PURPOSE", "purpose"},
};

absl::StatusOr<ParsedArgs> Parse(std::vector<std::string> args, bool stop = false) {
  return ParseArgs(args, kSpecs, stop);
}

TEST(ArgsTest, ValueOptionInBothForms) {
  auto parsed = Parse({"--server", "a:1", "--subject=x=y"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Get("server"), "a:1");
  EXPECT_EQ(parsed->Get("subject"), "x=y");
  EXPECT_FALSE(parsed->Has("purpose"));
  EXPECT_EQ(parsed->Get("purpose"), std::nullopt);
  EXPECT_EQ(parsed->consumed, 3u);
}

TEST(ArgsTest, EmptyInlineValueIsKept) {
  auto parsed = Parse({"--server="});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get("server"), "");
}

TEST(ArgsTest, LastOccurrenceWins) {
  auto parsed = Parse({"--server", "a:1", "--server", "b:2"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get("server"), "b:2");
}

TEST(ArgsTest, RepeatedOptionKeepsEveryValueInOrder) {
  auto parsed = Parse({"--subject", "a", "--server=s", "--subject=b", "--subject", "c"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(parsed->GetAll("subject"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(parsed->GetAll("server"), ElementsAre("s"));
  EXPECT_THAT(parsed->GetAll("purpose"), IsEmpty());
  EXPECT_EQ(parsed->Get("subject"), "c");
}

TEST(ArgsTest, Switches) {
  auto parsed = Parse({"--plaintext"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->IsSet("plaintext"));

  parsed = Parse({"--plaintext=false"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->Has("plaintext"));
  EXPECT_FALSE(parsed->IsSet("plaintext"));

  parsed = Parse({"--plaintext=YES"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->IsSet("plaintext"));

  parsed = Parse({"--plaintext=maybe"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("--plaintext is a switch"));
}

TEST(ArgsTest, SwitchDoesNotEatTheNextArgument) {
  auto parsed = Parse({"--plaintext", "keys/a"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->IsSet("plaintext"));
  EXPECT_THAT(parsed->positional, ElementsAre("keys/a"));
}

TEST(ArgsTest, PositionalsAnywhere) {
  auto parsed = Parse({"a", "--server", "s:1", "b", "-", "--", "--purpose", "-x"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->positional, ElementsAre("a", "b", "-", "--purpose", "-x"));
  EXPECT_FALSE(parsed->Has("purpose"));
}

TEST(ArgsTest, StopAtFirstPositional) {
  std::vector<std::string> args = {"--server", "s:1", "--plaintext", "get-key", "--bogus"};
  auto parsed = ParseArgs(args, kSpecs, /*stop_at_positional=*/true);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->consumed, 3u);
  EXPECT_THAT(parsed->positional, IsEmpty());
  EXPECT_EQ(args[parsed->consumed], "get-key");
}

TEST(ArgsTest, StopAtPositionalConsumesDoubleDash) {
  std::vector<std::string> args = {"--plaintext", "--", "get-key"};
  auto parsed = ParseArgs(args, kSpecs, /*stop_at_positional=*/true);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->consumed, 2u);
}

TEST(ArgsTest, Help) {
  for (const char* flag : {"-h", "--help"}) {
    auto parsed = Parse({"x", flag});
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(parsed->help);
    EXPECT_THAT(parsed->positional, ElementsAre("x"));
  }
}

TEST(ArgsTest, UnknownOptionSuggestsTheClosest) {
  auto parsed = Parse({"--sever", "x"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(), "unknown option --sever (did you mean --server?)");

  parsed = Parse({"--zzzzzz"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "unknown option --zzzzzz");
}

TEST(ArgsTest, SingleDashOptionsAreRejected) {
  auto parsed = Parse({"-s"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("unknown option -s"));
}

TEST(ArgsTest, MissingValue) {
  auto parsed = Parse({"--server"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "option --server needs a value (--server HOST:PORT)");

  // "--subject --purpose offline": the value is missing, not "--purpose".
  parsed = Parse({"--subject", "--purpose", "offline"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("--subject needs a value"));

  // A single dash is fine as a value (e.g. a negative number or stdout).
  parsed = Parse({"--subject", "-1"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get("subject"), "-1");
}

TEST(ArgsTest, SuggestClosest) {
  const absl::string_view commands[] = {"get-key", "list-keys", "create-key", "health"};
  EXPECT_EQ(SuggestClosest("lst-keys", commands), "list-keys");
  EXPECT_EQ(SuggestClosest("list", commands), "list-keys");
  EXPECT_EQ(SuggestClosest("helth", commands), "health");
  EXPECT_EQ(SuggestClosest("frobnicate", commands), std::nullopt);
  EXPECT_EQ(SuggestClosest("x", commands), std::nullopt);
}

}  // namespace
}  // namespace ksef::client
