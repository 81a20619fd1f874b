// AuthTokenRequest: field validation (every field, every way it can be
// wrong), byte-exact serialization (vectors.md V4) and validity against the
// official XSD (libxml2's schema validator).
#include "formats/xades/auth_token_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libxml/xmlschemas.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "formats/testing/test_data.h"
#include "formats/xades/xades_constants.h"
#include "xml/document.h"

namespace ksef::xades {

using xml::ParseXmlStrict;
using xml::EnsureXmlInitialized;
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

AuthTokenRequest V4Request() {
  AuthTokenRequest r;
  r.challenge = "20250514-CR-226FB7B000-3ACF9BE4C0-10";
  r.context_identifier.nip = "5265877635";
  r.subject_identifier_type = SubjectIdentifierType::kCertificateSubject;
  return r;
}

// OK, or the schema errors, validating with the XSD copy in testdata/xsd.
absl::Status ValidateAgainstXsd(const std::string& xml, AuthSchemaVersion version) {
  EnsureXmlInitialized();
  std::string xsd =
      testdata::Path(version == AuthSchemaVersion::kV2_1 ? "xsd/schemat_auth_v2-1.xsd"
                                                         : "xsd/schemat_auth_v2-0_libxml2.xsd");
  xmlSchemaParserCtxtPtr pctx = xmlSchemaNewParserCtxt(xsd.c_str());
  xmlSchemaPtr schema = xmlSchemaParse(pctx);
  xmlSchemaFreeParserCtxt(pctx);
  if (schema == nullptr) return absl::InternalError("cannot load " + xsd);
  xmlSchemaValidCtxtPtr vctx = xmlSchemaNewValidCtxt(schema);
  auto doc = ParseXmlStrict(xml, "document", kMaxXmlBytes);
  int rc = doc.ok() ? xmlSchemaValidateDoc(vctx, doc->get()) : -1;
  xmlSchemaFreeValidCtxt(vctx);
  xmlSchemaFree(schema);
  if (!doc.ok()) return doc.status();
  return rc == 0 ? absl::OkStatus() : absl::InvalidArgumentError(absl::StrCat("XSD: ", rc));
}

void ExpectInvalid(const AuthTokenRequest& r, const std::string& field) {
  absl::Status s = Validate(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field << ": " << s;
  EXPECT_THAT(std::string(s.message()), StartsWith(field + ":")) << s;
  EXPECT_FALSE(SerializeAuthTokenRequest(r).ok());
}

TEST(AuthTokenRequestTest, SerializesV4ByteForByte) {
  auto xml = SerializeAuthTokenRequest(V4Request());
  ASSERT_TRUE(xml.ok()) << xml.status();
  EXPECT_EQ(*xml, testdata::Read("v4_unsigned.xml"));
  EXPECT_TRUE(ValidateAgainstXsd(*xml, AuthSchemaVersion::kV2_0).ok());
}

TEST(AuthTokenRequestTest, PolicyAndVersion21ValidateAgainstTheXsd) {
  AuthTokenRequest r = V4Request();
  r.subject_identifier_type = SubjectIdentifierType::kCertificateFingerprint;
  r.allowed_ips = AllowedIps{
      {"192.168.0.1", "10.0.0.255"}, {"10.0.0.1-10.0.0.20"}, {"172.16.0.0/12", "0.0.0.0/0"}};
  for (AuthSchemaVersion v : {AuthSchemaVersion::kV2_0, AuthSchemaVersion::kV2_1}) {
    r.schema_version = v;
    auto xml = SerializeAuthTokenRequest(r);
    ASSERT_TRUE(xml.ok()) << xml.status();
    EXPECT_THAT(*xml, HasSubstr(AuthTokenNamespace(v)));
    EXPECT_THAT(*xml, HasSubstr("<SubjectIdentifierType>certificateFingerprint<"));
    EXPECT_THAT(*xml, HasSubstr("\n  <AuthorizationPolicy>\n    <AllowedIps>\n"
                                "      <Ip4Address>192.168.0.1</Ip4Address>\n"
                                "      <Ip4Address>10.0.0.255</Ip4Address>\n"
                                "      <Ip4Range>10.0.0.1-10.0.0.20</Ip4Range>\n"
                                "      <Ip4Mask>172.16.0.0/12</Ip4Mask>\n"
                                "      <Ip4Mask>0.0.0.0/0</Ip4Mask>\n"
                                "    </AllowedIps>\n  </AuthorizationPolicy>\n"
                                "</AuthTokenRequest>"));
    EXPECT_TRUE(ValidateAgainstXsd(*xml, v).ok()) << *xml;
  }
}

TEST(AuthTokenRequestTest, InternalIdValidatesAgainstTheXsd) {
  AuthTokenRequest r = V4Request();
  r.context_identifier.nip.reset();
  r.context_identifier.internal_id = "5265877635-12345";
  auto xml = SerializeAuthTokenRequest(r);
  ASSERT_TRUE(xml.ok()) << xml.status();
  EXPECT_THAT(*xml, HasSubstr("\n    <InternalId>5265877635-12345</InternalId>\n"));
  EXPECT_TRUE(ValidateAgainstXsd(*xml, AuthSchemaVersion::kV2_0).ok());
}

// The XSD writes these two patterns with ^...$; XSD regexes have no anchors,
// so libxml2 reads ^ and $ as literal characters and refuses every real
// value. We validate the intended (anchored) form; see the report/docs.
TEST(AuthTokenRequestTest, NipVatUeAndPeppolIdAreAccepted) {
  AuthTokenRequest r = V4Request();
  r.context_identifier.nip.reset();
  r.context_identifier.nip_vat_ue = "5265877635-ATU12345678";
  auto xml = SerializeAuthTokenRequest(r);
  ASSERT_TRUE(xml.ok()) << xml.status();
  EXPECT_THAT(*xml, HasSubstr("<NipVatUe>5265877635-ATU12345678</NipVatUe>"));
  for (const char* vat :
       {"5265877635-DE123456789", "5265877635-FRAB123456789", "5265877635-ESX1234567X",
        "5265877635-XIGD123", "5265877635-NL12345678901B"}) {
    r.context_identifier.nip_vat_ue = vat;
    EXPECT_TRUE(Validate(r).ok()) << vat << ": " << Validate(r);
  }
  r.context_identifier.nip_vat_ue.reset();
  r.context_identifier.peppol_id = "PPL123456";
  xml = SerializeAuthTokenRequest(r);
  ASSERT_TRUE(xml.ok()) << xml.status();
  EXPECT_THAT(*xml, HasSubstr("<PeppolId>PPL123456</PeppolId>"));
}

TEST(AuthTokenRequestTest, BadChallenge) {
  for (const char* bad :
       {"", "20250514-CR-226FB7B000-3ACF9BE4C0-1", "20250514-CR-226fb7b000-3ACF9BE4C0-10",
        "2025051X-CR-226FB7B000-3ACF9BE4C0-10", "20250514-XX-226FB7B000-3ACF9BE4C0-10",
        " 20250514-CR-226FB7B000-3ACF9BE4C0-1", "20250514-CR-226FB7B000-3ACF9BE4C0-10<"}) {
    AuthTokenRequest r = V4Request();
    r.challenge = bad;
    ExpectInvalid(r, "challenge");
  }
}

TEST(AuthTokenRequestTest, BadNip) {
  for (const char* bad : {"5265877636" /* check digit */, "526587763", "52658776355", "52658x7635",
                          "0265877635", "5005877635"}) {
    AuthTokenRequest r = V4Request();
    r.context_identifier.nip = bad;
    ExpectInvalid(r, "context_identifier.nip");
  }
}

TEST(AuthTokenRequestTest, BadInternalId) {
  for (const char* bad : {"5265877635", "5265877635-1234", "5265877635-123456", "5265877636-12345",
                          "5265877635_12345", "5265877635-1234a"}) {
    AuthTokenRequest r = V4Request();
    r.context_identifier.nip.reset();
    r.context_identifier.internal_id = bad;
    ExpectInvalid(r, "context_identifier.internal_id");
  }
}

TEST(AuthTokenRequestTest, BadNipVatUe) {
  for (const char* bad :
       {"5265877635", "5265877635-", "5265877635-ATU1234567", "5265877636-ATU12345678",
        "5265877635-PL1234567890", "5265877635-DE12345678", "5265877635-atu12345678"}) {
    AuthTokenRequest r = V4Request();
    r.context_identifier.nip.reset();
    r.context_identifier.nip_vat_ue = bad;
    ExpectInvalid(r, "context_identifier.nip_vat_ue");
  }
}

TEST(AuthTokenRequestTest, BadPeppolId) {
  for (const char* bad : {"", "PPL12345", "PPL1234567", "Ppl123456", "XPL123456", "P1L123456"}) {
    AuthTokenRequest r = V4Request();
    r.context_identifier.nip.reset();
    r.context_identifier.peppol_id = bad;
    ExpectInvalid(r, "context_identifier.peppol_id");
  }
}

TEST(AuthTokenRequestTest, NoneOrTwoContextIdentifiers) {
  AuthTokenRequest r = V4Request();
  r.context_identifier.nip.reset();
  ExpectInvalid(r, "context_identifier");
  r = V4Request();
  r.context_identifier.peppol_id = "PPL123456";
  ExpectInvalid(r, "context_identifier");
}

TEST(AuthTokenRequestTest, BadIpAddressRangeMask) {
  for (const char* bad :
       {"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", "1..2.3"}) {
    AuthTokenRequest r = V4Request();
    r.allowed_ips = AllowedIps{{"10.0.0.1", bad}, {}, {}};
    ExpectInvalid(r, "allowed_ips.ip4_address[1]");
  }
  for (const char* bad :
       {"10.0.0.1", "10.0.0.1-", "10.0.0.1-10.0.0.256", "10.0.0.9-10.0.0.1", "10.0.0.1/10.0.0.2"}) {
    AuthTokenRequest r = V4Request();
    r.allowed_ips =
        AllowedIps{{}, {"1.1.1.1-1.1.1.2", "1.1.1.1-1.1.1.2", "1.1.1.1-1.1.1.2", bad}, {}};
    ExpectInvalid(r, "allowed_ips.ip4_range[3]");
  }
  for (const char* bad :
       {"10.0.0.0", "10.0.0.0/33", "10.0.0.0/01", "10.0.0.0/", "10.0.0/8", "10.0.0.0/-1"}) {
    AuthTokenRequest r = V4Request();
    r.allowed_ips = AllowedIps{{}, {}, {bad}};
    ExpectInvalid(r, "allowed_ips.ip4_mask[0]");
  }
}

TEST(AuthTokenRequestTest, TooManyOrNoIps) {
  AuthTokenRequest r = V4Request();
  r.allowed_ips = AllowedIps{};
  ExpectInvalid(r, "allowed_ips");
  for (int i = 0; i < 11; ++i) r.allowed_ips->ip4_addresses.push_back(absl::StrCat("10.0.0.", i));
  ExpectInvalid(r, "allowed_ips.ip4_address");
  r.allowed_ips->ip4_addresses.pop_back();
  EXPECT_TRUE(Validate(r).ok());
  r.allowed_ips->ip4_ranges.assign(11, "1.1.1.1-1.1.1.2");
  ExpectInvalid(r, "allowed_ips.ip4_range");
  r.allowed_ips->ip4_ranges.clear();
  r.allowed_ips->ip4_masks.assign(11, "1.1.1.0/24");
  ExpectInvalid(r, "allowed_ips.ip4_mask");
}

// Issue 11: every value that reaches the signed XML is pattern-checked, so
// control characters, invalid UTF-8 and over-long values never get in, and
// the message quotes at most a short, printable prefix.
TEST(AuthTokenRequestTest, ControlCharactersInvalidUtf8AndHugeValuesAreRefusedEverywhere) {
  const std::string tails[] = {std::string(1, '\0'), "\n", "\r", "\t", "\x7f", "\xC2\x85",
                               "\xFF", std::string(70000, '1')};
  for (const std::string& tail : tails) {
    SCOPED_TRACE(tail.substr(0, 4));
    AuthTokenRequest r = V4Request();
    r.challenge += tail;
    ExpectInvalid(r, "challenge");
    EXPECT_LT(Validate(r).message().size(), 250u);
    struct Member {
      std::optional<std::string> ContextIdentifier::*member;
      const char* valid;
      const char* field;
    } members[] = {
        {&ContextIdentifier::nip, "5265877635", "context_identifier.nip"},
        {&ContextIdentifier::internal_id, "5265877635-12345", "context_identifier.internal_id"},
        {&ContextIdentifier::nip_vat_ue, "5265877635-ATU12345678",
         "context_identifier.nip_vat_ue"},
        {&ContextIdentifier::peppol_id, "PPL123456", "context_identifier.peppol_id"},
    };
    for (const Member& m : members) {
      r = V4Request();
      r.context_identifier = ContextIdentifier{};
      r.context_identifier.*m.member = m.valid + tail;
      ExpectInvalid(r, m.field);
      EXPECT_LT(Validate(r).message().size(), 250u);
    }
    r = V4Request();
    r.allowed_ips = AllowedIps{{"10.0.0.1" + tail}, {}, {}};
    ExpectInvalid(r, "allowed_ips.ip4_address[0]");
    r.allowed_ips = AllowedIps{{}, {"10.0.0.1-10.0.0.2" + tail}, {}};
    ExpectInvalid(r, "allowed_ips.ip4_range[0]");
    r.allowed_ips = AllowedIps{{}, {}, {"10.0.0.0/8" + tail}};
    ExpectInvalid(r, "allowed_ips.ip4_mask[0]");
    EXPECT_LT(Validate(r).message().size(), 250u);
  }
}

}  // namespace
}  // namespace ksef::xades
