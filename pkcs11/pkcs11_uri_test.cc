#include "pkcs11/pkcs11_uri.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace ksef::pkcs11 {
namespace {

// Plain GoogleTest (no gmock): the project's test helper links only gtest.
::testing::AssertionResult Has(const std::string& message, absl::string_view part) {
  if (absl::StrContains(message, part)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message \"" << message << "\" lacks \"" << part << "\"";
}
::testing::AssertionResult Lacks(const std::string& message, absl::string_view part) {
  if (!absl::StrContains(message, part)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "message \"" << message << "\" contains \"" << part << "\"";
}

// Parses `text`, expects INVALID_ARGUMENT and returns the message.
std::string ParseError(absl::string_view text) {
  absl::StatusOr<Pkcs11Uri> uri = Pkcs11Uri::Parse(text);
  EXPECT_FALSE(uri.ok()) << text << " parsed unexpectedly";
  if (uri.ok()) return "";
  EXPECT_EQ(uri.status().code(), absl::StatusCode::kInvalidArgument) << uri.status();
  return std::string(uri.status().message());
}

void ExpectRoundTrip(const Pkcs11Uri& uri) {
  const std::string text = uri.ToString();
  absl::StatusOr<Pkcs11Uri> parsed = Pkcs11Uri::Parse(text);
  ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
  EXPECT_EQ(*parsed, uri) << text;
}

TEST(Pkcs11UriTest, FormatsInRfcOrderWithEncoding) {
  Pkcs11Uri uri;
  uri.id = std::string("\x01\xAB", 2);
  uri.type = "private";
  uri.object = "k 1";
  uri.token = "ksef-hsm";
  EXPECT_EQ(uri.ToString(), "pkcs11:token=ksef-hsm;object=k%201;type=private;id=%01%AB");
  EXPECT_EQ(Pkcs11Uri().ToString(), "pkcs11:");
}

TEST(Pkcs11UriTest, IdIsAlwaysFullyEncoded) {
  Pkcs11Uri uri;
  uri.id = "ab";
  EXPECT_EQ(uri.ToString(), "pkcs11:id=%61%62");
}

TEST(Pkcs11UriTest, RoundTripsIdWithAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  Pkcs11Uri uri;
  uri.token = "ksef-hsm";
  uri.id = all;
  ExpectRoundTrip(uri);
  for (int i = 0; i < 256; ++i) {
    Pkcs11Uri single;
    single.id = std::string(1, static_cast<char>(i));
    ExpectRoundTrip(single);
  }
}

TEST(Pkcs11UriTest, RoundTripsAwkwardLabels) {
  for (const char* label :
       {"with spaces", "semi;colon", "per%cent", "sla/sh", "q?uery&amp=eq", "#hash", "",
        "za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87 g\xC4\x99\xC5\x9Bl\xC4\x85 ja\xC5\xBA\xC5\x84",
        "\xE2\x82\xAC / \xF0\x9F\x94\x91", "quote\"'()*+$!,:@[]~", "%25%20"}) {
    Pkcs11Uri uri;
    uri.token = label;
    uri.manufacturer = label;
    uri.serial = label;
    uri.model = label;
    uri.object = label;
    uri.type = "cert";
    uri.id = label;
    ExpectRoundTrip(uri);
  }
}

TEST(Pkcs11UriTest, FormattedUriHasNoCharactersShellsCareAbout) {
  Pkcs11Uri uri;
  uri.object = "a b;c/d%e$f&g=h+i'j(k)";
  EXPECT_EQ(uri.ToString(), "pkcs11:object=a%20b%3Bc%2Fd%25e%24f%26g%3Dh%2Bi%27j%28k%29");
}

TEST(Pkcs11UriTest, ParsesRfc7512Example) {
  absl::StatusOr<Pkcs11Uri> uri = Pkcs11Uri::Parse(
      "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;"
      "model=1.0;object=my-certificate;type=cert;"
      "id=%69%95%3E%5C%F4%99%DF%B6%65%EC%85%AE%4B%E4%5B%FB%1F%E1%E4%BD");
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_EQ(uri->token, "The Software PKCS#11 Softtoken");
  EXPECT_EQ(uri->manufacturer, "Snake Oil, Inc.");
  EXPECT_EQ(uri->model, "1.0");
  EXPECT_EQ(uri->object, "my-certificate");
  EXPECT_EQ(uri->type, "cert");
  EXPECT_EQ(uri->id, std::string("\x69\x95\x3E\x5C\xF4\x99\xDF\xB6\x65\xEC\x85\xAE\x4B\xE4\x5B\xFB"
                                 "\x1F\xE1\xE4\xBD",
                                 20));
  EXPECT_FALSE(uri->serial.has_value());
}

TEST(Pkcs11UriTest, ParsesOtherRfc7512Examples) {
  absl::StatusOr<Pkcs11Uri> empty = Pkcs11Uri::Parse("pkcs11:");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, Pkcs11Uri());

  absl::StatusOr<Pkcs11Uri> uri = Pkcs11Uri::Parse("pkcs11:object=my-pubkey;type=public");
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_EQ(uri->object, "my-pubkey");
  EXPECT_EQ(uri->type, "public");

  uri = Pkcs11Uri::Parse(
      "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,"
      "%20Inc.;serial=;object=my-key;type=secret-key");
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_EQ(uri->serial, "");  // present but empty is distinct from absent
  EXPECT_EQ(uri->type, "secret-key");

  // RFC 7512 allows these sub-delimiters unencoded in a path value.
  uri = Pkcs11Uri::Parse("pkcs11:object=a:b[c]@!$'()*+,=&x;type=data");
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_EQ(uri->object, "a:b[c]@!$'()*+,=&x");

  // Lowercase hex, uppercase scheme, and an empty query are all valid.
  uri = Pkcs11Uri::Parse("PKCS11:id=%ab%CD?");
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_EQ(uri->id, "\xAB\xCD");
}

TEST(Pkcs11UriTest, RefusesMissingScheme) {
  EXPECT_TRUE(Has(ParseError("token=ksef-hsm;object=k1"), "must start with \"pkcs11:\""));
  EXPECT_TRUE(Has(ParseError(""), "must start with \"pkcs11:\""));
  EXPECT_TRUE(Has(ParseError("pkcs11"), "must start with \"pkcs11:\""));
}

TEST(Pkcs11UriTest, RefusesBadPercentEscapes) {
  const std::string bad_digit = ParseError("pkcs11:object=a%G1");
  EXPECT_TRUE(Has(bad_digit, "bad percent escape '%G1'"));
  EXPECT_TRUE(Has(bad_digit, "attribute 'object' at character 16"));
  EXPECT_TRUE(Has(bad_digit, "write %25 for a literal '%'"));
  const std::string truncated = ParseError("pkcs11:id=%01%4");
  EXPECT_TRUE(Has(truncated, "bad percent escape '%4' in attribute 'id'"));
  EXPECT_TRUE(Has(ParseError("pkcs11:id=%"), "bad percent escape '%'"));
}

TEST(Pkcs11UriTest, RefusesUnencodedCharacters) {
  EXPECT_TRUE(Has(ParseError("pkcs11:object=a b"),
                  "' ' in attribute 'object' at character 16 "
                  "must be percent-encoded (as %20)"));
  EXPECT_TRUE(Has(ParseError("pkcs11:object=a/b"), "(as %2F)"));
  EXPECT_TRUE(Has(ParseError("pkcs11:object=\xC5\xBC"), "(as %C5)"));
}

TEST(Pkcs11UriTest, RefusesUnknownAttribute) {
  const std::string message = ParseError("pkcs11:token=a;slot-id=1");
  EXPECT_TRUE(Has(message, "unknown attribute 'slot-id'"));
  EXPECT_TRUE(Has(message, "supported: token, manufacturer, serial, model, object, type, id"));
  EXPECT_TRUE(Has(ParseError("pkcs11:Token=a"), "unknown attribute 'Token'"));
}

TEST(Pkcs11UriTest, RefusesRepeatedAttribute) {
  EXPECT_TRUE(Has(ParseError("pkcs11:object=a;type=cert;object=b"),
                  "attribute 'object' appears more than once"));
}

TEST(Pkcs11UriTest, RefusesEmptyAttributeName) {
  EXPECT_TRUE(Has(ParseError("pkcs11:token=a;=b"), "empty attribute name at character 16"));
  EXPECT_TRUE(Has(ParseError("pkcs11:token=a;;object=b"), "stray ';'"));
  EXPECT_TRUE(Has(ParseError("pkcs11:token=a;"), "stray ';'"));
  EXPECT_TRUE(Has(ParseError("pkcs11:token"), "attribute 'token' has no '='"));
}

TEST(Pkcs11UriTest, RefusesBadType) {
  const std::string message = ParseError("pkcs11:object=k;type=secret");
  EXPECT_TRUE(Has(message, "type='secret' is not a valid object type"));
  EXPECT_TRUE(Has(message, "public, private, cert, secret-key, data"));
  EXPECT_TRUE(Has(ParseError("pkcs11:type=Private"), "not a valid object type"));
}

TEST(Pkcs11UriTest, RefusesPinsWithoutEchoingThem) {
  for (absl::string_view text : {"pkcs11:token=a?pin-value=s3cr3t-1234",
                                 "pkcs11:token=a?module-name=x&pin-value=s3cr3t-1234",
                                 "pkcs11:token=a?pin-source=file:/tmp/s3cr3t-1234",
                                 "pkcs11:token=a;pin-value=s3cr3t-1234"}) {
    const std::string message = ParseError(text);
    EXPECT_TRUE(Has(message, "PINs belong in the server config")) << text;
    EXPECT_TRUE(Lacks(message, "s3cr3t")) << text;
  }
}

TEST(Pkcs11UriTest, RefusesOtherQueryAttributes) {
  const std::string message = ParseError("pkcs11:token=a?module-path=/usr/lib/x.so");
  EXPECT_TRUE(Has(message, "query attribute 'module-path' is not supported"));
  EXPECT_TRUE(Lacks(message, "/usr/lib/x.so"));
}

}  // namespace
}  // namespace ksef::pkcs11
