// KSeF QR links and their inputs against vectors.md V1 (KOD I), V2 (KOD II,
// the official RSASSA-PSS example) and V3 (KOD II, P-256, RFC 6979), field
// validation, and reading the inputs from an FA(3) invoice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/ecdsa.h"
#include "common/encoding.h"
#include "crypto/sha256.h"
#include "crypto/software_signer.h"
#include "formats/cert/certificate_info.h"
#include "formats/qr/fields.h"
#include "formats/qr/invoice_xml.h"
#include "formats/qr/links.h"
#include "formats/testing/test_data.h"

namespace ksef::qr {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTestBase[] = "https://qr-test.ksef.mf.gov.pl";
constexpr char kV1aHashB64Url[] = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE";
constexpr char kV1aHashHex[] = "52d429f46a5ce75cbebb7c40a598c88e0929674d63b3e27c29f9523d6f16cc81";
constexpr char kV1aLink[] =
    "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/"
    "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE";
constexpr char kV2SignedString[] =
    "qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/"
    "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE";
constexpr char kV2SignedStringSha256[] =
    "faf46b68b4b1d3c112c432fdafe2d4ff9a57d2379c7d2191de9171ed94b7d2db";
constexpr char kV2Signature[] =
    "mSkm_XmM9fq7PgAJwiL32L9ujhyguOEV48cDB0ncemD2r9TMGa3lr0iRoFk588agCi8QPsOuscUY1rZ7ff76STbGquO-"
    "gZtQys5_fHdf2HUfDqPqVTnUS6HknBu0zLkyf9ygoW7WbH06Ty_8BgQTlOmJFzNWSt9WZa7tAGuAE9JOooNps-KG2PYk"
    "kIP4q4jPMp3FKypAygHVnXtS0RDGgOxhhM7LWtFP7D-dWINbh5yXD8Lr-JVbeOpyQjHa6WmMYavCDQJ3X_Z-iS01LZu2"
    "s1B3xuOykl1h0sLObCdADrbxOONsXrvQa61Xt_rxyprVraj2Uf9pANQgR4-12HEcMw";
constexpr char kV3Signature[] =
    "IBA8IW9KvcXwzpr53LYVZ7rEJnZkgdErsYY0Y7XegZGP-v7w0eKNztWhRZ0ysZxf-eTf_iBlGN2MNE7go14bqw";
constexpr char kV3Link[] =
    "https://qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/"
    "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE/"
    "IBA8IW9KvcXwzpr53LYVZ7rEJnZkgdErsYY0Y7XegZGP-v7w0eKNztWhRZ0ysZxf-eTf_iBlGN2MNE7go14bqw";

InvoiceRef V1aInvoice() {
  return InvoiceRef{"1111111111", absl::CivilDay(2026, 2, 1), *HexDecode(kV1aHashHex)};
}

// Expects INVALID_ARGUMENT whose message starts with `field`.
void ExpectFieldError(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith(field)) << status;
}

TEST(QrBaseUrlTest, Environments) {
  EXPECT_EQ(QrBaseUrl(Environment::kTest), "https://qr-test.ksef.mf.gov.pl");
  EXPECT_EQ(QrBaseUrl(Environment::kDemo), "https://qr-demo.ksef.mf.gov.pl");
  EXPECT_EQ(QrBaseUrl(Environment::kProd), "https://qr.ksef.mf.gov.pl");
  for (auto env : {Environment::kTest, Environment::kDemo, Environment::kProd}) {
    EXPECT_TRUE(ValidateBaseUrl(QrBaseUrl(env), "base_url").ok());
  }
}

TEST(QrBaseUrlTest, ExplicitBaseUrls) {
  for (const char* ok : {"https://qr.example.com", "https://localhost:8443",
                         "https://qr.example.com/client-app", "https://h:1/a/b_c~d.e-f"}) {
    EXPECT_TRUE(ValidateBaseUrl(ok, "base_url").ok()) << ok;
  }
  for (const char* bad :
       {"", "http://qr.ksef.mf.gov.pl", "https://", "https://qr.ksef.mf.gov.pl/",
        "https://QR.ksef.mf.gov.pl", "https://qr.ksef.mf.gov.pl:0", "https://qr:65536",
        "https://qr:x", "https://user@qr", "https://qr/a//b", "https://qr/a?b=c", "https://qr/a#b",
        "https://qr..pl", "https://.qr", "https://qr/a b", "https://qr/%41"}) {
    ExpectFieldError(ValidateBaseUrl(bad, "base_url"), "base_url");
  }
}

TEST(KodITest, V1aOfficialLink) {
  auto link = BuildKodI(kTestBase, V1aInvoice());
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(*link, kV1aLink);
  auto prod = BuildKodI(QrBaseUrl(Environment::kProd), V1aInvoice());
  ASSERT_TRUE(prod.ok());
  EXPECT_EQ(*prod, absl::StrCat("https://qr.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/",
                                kV1aHashB64Url));
}

TEST(KodITest, V1bDerivedLinkBelowValidation) {
  // 1234567890 fails the NIP check digit (vectors.md V1b), so the assembly is
  // checked without validation, and the validated path must refuse it.
  const std::string hash = crypto::Sha256("<root>test</root>");
  EXPECT_EQ(Base64UrlEncode(hash), "qrs2gCLXnTUy6--AHwHuDxFuCj0BYUGRGtBuGnJwN-c");
  EXPECT_EQ(unchecked::KodILink(kTestBase, "1234567890", absl::CivilDay(2026, 1, 5), hash),
            "https://qr-test.ksef.mf.gov.pl/invoice/1234567890/05-01-2026/"
            "qrs2gCLXnTUy6--AHwHuDxFuCj0BYUGRGtBuGnJwN-c");
  EXPECT_EQ(Base64UrlEncode(crypto::Sha256("<data>special & chars /?</data>")),
            "2bEg3cUOcJxR38JekXJxuJphnkn-NUdSP-uyOc0hB6I");
  EXPECT_EQ(Base64UrlEncode(crypto::Sha256("<x/>")), "KjH0TaS9fey70939GjeuBNAuxmXiwmiIFszGVjFYbtE");
  ExpectFieldError(BuildKodI(kTestBase, {"1234567890", absl::CivilDay(2026, 1, 5), hash}).status(),
                   "invoice.seller_nip");
  // The same inputs with a valid NIP.
  auto link = BuildKodI(kTestBase, {"1111111111", absl::CivilDay(2026, 1, 5), hash});
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(*link,
            "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/05-01-2026/"
            "qrs2gCLXnTUy6--AHwHuDxFuCj0BYUGRGtBuGnJwN-c");
}

TEST(KodIITest, V2SignedStringAndOfficialSignatureVerify) {
  auto der = cert::DecodeCertificateInput(testdata::Read("v2_ksef_test_cert.b64"));
  ASSERT_TRUE(der.ok()) << der.status();
  auto cert = cert::ParseCertificateDer(*der);
  ASSERT_TRUE(cert.ok()) << cert.status();
  ASSERT_EQ(cert->serial_hex, "01F20A5D352AE590");

  auto signed_string =
      KodIISignedString(kTestBase, ContextType::kNip, "1111111111", V1aInvoice(), cert->serial_hex);
  ASSERT_TRUE(signed_string.ok()) << signed_string.status();
  EXPECT_EQ(*signed_string, kV2SignedString);
  EXPECT_EQ(HexUpper(crypto::Sha256(*signed_string)), HexUpper(*HexDecode(kV2SignedStringSha256)));

  auto signature = Base64UrlDecode(kV2Signature);
  ASSERT_TRUE(signature.has_value());
  ASSERT_EQ(signature->size(), 256u);
  EXPECT_TRUE(crypto::VerifyDigestSignature(cert->public_key_der, crypto::SignatureScheme::kRsaPssSha256,
                                         crypto::Sha256(*signed_string), *signature)
                  .ok());
  // It verifies over this exact string only (vectors.md V2).
  for (const std::string& other :
       {absl::StrCat("https://", kV2SignedString), absl::StrCat(kV2SignedString, "/")}) {
    EXPECT_FALSE(crypto::VerifyDigestSignature(cert->public_key_der,
                                            crypto::SignatureScheme::kRsaPssSha256,
                                            crypto::Sha256(other), *signature)
                     .ok());
  }
  EXPECT_EQ(unchecked::KodIILink(*signed_string, *signature),
            absl::StrCat("https://", kV2SignedString, "/", kV2Signature));
}

TEST(KodIITest, V2KeyRsaPssSignatureFromSignKodII) {
  // The V2 certificate's key signs afresh (PSS is randomized: verify, do not compare).
  auto der = cert::DecodeCertificateInput(testdata::Read("v2_ksef_test_cert.b64"));
  ASSERT_TRUE(der.ok()) << der.status();
  auto cert = cert::ParseCertificateDer(*der);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto signer = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kRsa2048);
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto kod = SignKodII(kTestBase, ContextType::kNip, "1111111111", V1aInvoice(), "01F20A5D352AE590",
                       **signer);
  ASSERT_TRUE(kod.ok()) << kod.status();
  EXPECT_EQ(kod->signed_string, kV2SignedString);
  EXPECT_EQ(kod->signature.size(), 256u);
  EXPECT_EQ(kod->link.size(), std::string(kV2SignedString).size() + 8 + 1 + 342);
  EXPECT_TRUE(crypto::VerifyDigestSignature((*signer)->public_key_der(),
                                         crypto::SignatureScheme::kRsaPssSha256,
                                         crypto::Sha256(kod->signed_string), kod->signature)
                  .ok());
}

TEST(KodIITest, V3P256DeterministicVectorAndFreshSignature) {
  auto signer = crypto::SoftwareSigner::FromPrivateKey(testdata::Read("v3_p256_key.pem"));
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(HexUpper((*signer)->public_key_der()),
            "3059301306072A8648CE3D020106082A8648CE3D0301070342000460FED4BA255A9D31C961EB74C6356D"
            "68C049B8923B61FA6CE669622E60F29FB67903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177"
            "A3C294D4462299");
  auto kod = SignKodII(kTestBase, ContextType::kNip, "1111111111", V1aInvoice(), "01F20A5D352AE590",
                       **signer);
  ASSERT_TRUE(kod.ok()) << kod.status();
  EXPECT_EQ(kod->signed_string, kV2SignedString);
  ASSERT_EQ(kod->signature.size(), 64u);
  EXPECT_TRUE(VerifyEcdsaSha256Raw((*signer)->public_key_der(), crypto::Sha256(kod->signed_string),
                                   kod->signature)
                  .ok());
  // Structure: V3's link with this signature in the last segment.
  std::string v3_link = kV3Link;
  std::string prefix = v3_link.substr(0, v3_link.rfind('/') + 1);
  EXPECT_EQ(kod->link, prefix + Base64UrlEncode(kod->signature));
  EXPECT_EQ(kod->link.size(), 216u);
  // The V3 (RFC 6979) signature verifies with this key over our string, and
  // our link assembly reproduces the V3 link from it byte for byte.
  auto v3_signature = Base64UrlDecode(kV3Signature);
  ASSERT_TRUE(v3_signature.has_value());
  EXPECT_TRUE(VerifyEcdsaSha256Raw((*signer)->public_key_der(), crypto::Sha256(kod->signed_string),
                                   *v3_signature)
                  .ok());
  EXPECT_EQ(unchecked::KodIILink(kod->signed_string, *v3_signature), kV3Link);
  if (kod->signature == *v3_signature) {
    GTEST_LOG_(INFO) << "SoftwareSigner signs deterministically (RFC 6979): matches V3 exactly";
  }
}

TEST(KodIITest, ContextTypesInTheLink) {
  struct Case {
    ContextType type;
    const char* value;
    const char* segment;
  };
  auto signer = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256);
  ASSERT_TRUE(signer.ok());
  for (const Case& c :
       {Case{ContextType::kNip, "5265877635", "/certificate/Nip/5265877635/"},
        Case{ContextType::kInternalId, "5265877635-12345",
             "/certificate/InternalId/5265877635-12345/"},
        Case{ContextType::kNipVatUe, "5265877635-ATU12345678",
             "/certificate/NipVatUe/5265877635-ATU12345678/"},
        Case{ContextType::kPeppolId, "PPL123456", "/certificate/PeppolId/PPL123456/"}}) {
    auto kod = SignKodII(QrBaseUrl(Environment::kDemo), c.type, c.value, V1aInvoice(),
                         "0321C82DA41B4362", **signer);
    ASSERT_TRUE(kod.ok()) << kod.status();
    EXPECT_THAT(kod->signed_string, StartsWith(absl::StrCat("qr-demo.ksef.mf.gov.pl", c.segment)));
    auto type = ParseContextType(ContextTypeName(c.type), "context_type");
    ASSERT_TRUE(type.ok());
    EXPECT_EQ(*type, c.type);
  }
  ExpectFieldError(ParseContextType("nip", "context_type").status(), "context_type");
}

TEST(KodIITest, InvalidInputsNameTheField) {
  auto signer = crypto::SoftwareSigner::Generate(crypto::KeyAlgorithm::kEcP256);
  ASSERT_TRUE(signer.ok());
  const InvoiceRef good = V1aInvoice();
  auto sign = [&](absl::string_view base, ContextType type, absl::string_view value,
                  const InvoiceRef& inv, absl::string_view serial) {
    absl::Status a = KodIISignedString(base, type, value, inv, serial).status();
    absl::Status b = SignKodII(base, type, value, inv, serial, **signer).status();
    EXPECT_EQ(a, b);
    return a;
  };
  const char* kSerial = "01F20A5D352AE590";
  ExpectFieldError(
      sign("https://qr-test.ksef.mf.gov.pl/", ContextType::kNip, "1111111111", good, kSerial),
      "base_url");
  for (const char* serial :
       {"01f20a5d352ae590", "01F20A5D352AE59", "01F20A5D352AE5900", "01F20A5D352AE59G", ""}) {
    ExpectFieldError(sign(kTestBase, ContextType::kNip, "1111111111", good, serial),
                     "certificate_serial");
  }
  struct BadContext {
    ContextType type;
    const char* value;
  };
  for (const BadContext& c :
       {BadContext{ContextType::kNip, "1111111112"}, BadContext{ContextType::kNip, "111111111"},
        BadContext{ContextType::kInternalId, "5265877635"},
        BadContext{ContextType::kInternalId, "5265877636-12345"},
        BadContext{ContextType::kNipVatUe, "5265877635-XX123"},
        BadContext{ContextType::kPeppolId, "PPL12345"}, BadContext{ContextType::kNip, ""}}) {
    ExpectFieldError(sign(kTestBase, c.type, c.value, good, kSerial), "context_value");
  }
  InvoiceRef bad_nip = good;
  bad_nip.seller_nip = "1111111112";
  ExpectFieldError(sign(kTestBase, ContextType::kNip, "1111111111", bad_nip, kSerial),
                   "invoice.seller_nip");
  ExpectFieldError(BuildKodI(kTestBase, bad_nip).status(), "invoice.seller_nip");
  for (const std::string& hash : {std::string(31, 'a'), std::string(33, 'a'), std::string()}) {
    InvoiceRef bad_hash = good;
    bad_hash.invoice_sha256 = hash;
    ExpectFieldError(sign(kTestBase, ContextType::kNip, "1111111111", bad_hash, kSerial),
                     "invoice.invoice_sha256");
    ExpectFieldError(BuildKodI(kTestBase, bad_hash).status(), "invoice.invoice_sha256");
  }
  InvoiceRef bad_year = good;
  bad_year.issue_date = absl::CivilDay(10000, 1, 1);
  ExpectFieldError(BuildKodI(kTestBase, bad_year).status(), "invoice.issue_date");
  ExpectFieldError(BuildKodI("http://x", good).status(), "base_url");
}

TEST(FieldsTest, ParseIssueDate) {
  auto d = ParseIssueDate("2026-02-01", "issue_date");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, absl::CivilDay(2026, 2, 1));
  EXPECT_TRUE(ParseIssueDate("2024-02-29", "issue_date").ok());
  for (const char* bad :
       {"2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-1-01",
        "01-02-2026", "2026/02/01", "2026-02-01Z", " 2026-02-01", "+026-02-01", "0999-12-31", ""}) {
    ExpectFieldError(ParseIssueDate(bad, "issue_date").status(), "issue_date");
  }
  EXPECT_EQ(unchecked::FormatLinkDate(absl::CivilDay(2026, 1, 5)), "05-01-2026");
}

TEST(FieldsTest, ParseInvoiceSha256AcceptsTheThreeTextForms) {
  const std::string raw = *HexDecode(kV1aHashHex);
  for (const char* text :
       {kV1aHashHex, "52D429F46A5CE75CBEBB7C40A598C88E0929674D63B3E27C29F9523D6F16CC81",
        "UtQp9Gpc51y+u3xApZjIjgkpZ01js+J8KflSPW8WzIE=", kV1aHashB64Url}) {
    auto parsed = ParseInvoiceSha256(text, "invoice_hash");
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, raw);
  }
  for (const char* bad :
       {"", "52d429f46a5ce75cbebb7c40a598c88e0929674d63b3e27c29f9523d6f16cc",  // 31 bytes
        "52d429f46a5ce75cbebb7c40a598c88e0929674d63b3e27c29f9523d6f16cc8100",  // 33 bytes
        "52d429f46a5ce75cbebb7c40a598c88e0929674d63b3e27c29f9523d6f16ccXY",
        "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE=",  // url alphabet with padding
        "UtQp9Gpc51y+u3xApZjIjgkpZ01js+J8KflSPW8WzIE",   // std alphabet without padding
        "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8Wz",     // 30 bytes
        "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIEAA"}) {
    ExpectFieldError(ParseInvoiceSha256(bad, "invoice_hash").status(), "invoice_hash");
  }
}

// --- FA(3) invoice XML -----------------------------------------------------

TEST(InvoiceXmlTest, SampleFa3Invoice) {
  const std::string xml = testdata::Read("invoice-fa3.xml");
  ASSERT_FALSE(xml.empty());
  auto ref = InvoiceRefFromXml(xml);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->seller_nip, "5265877635");  // Podmiot1, not Podmiot2's 1111111111
  EXPECT_EQ(ref->issue_date, absl::CivilDay(2025, 12, 8));
  // sha256sum tests/testdata/invoice-fa3.xml
  EXPECT_EQ(HexUpper(ref->invoice_sha256),
            "15C997C1B8366DE57E68ED2E23BB5CC933C7EE2DFD48BFC3769B588B3D384A03");
  auto link = BuildKodI(kTestBase, *ref);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(*link,
            "https://qr-test.ksef.mf.gov.pl/invoice/5265877635/08-12-2025/"
            "FcmXwbg2beV-aO0uI7tcyTPH7i39SL_DdptYiz04SgM");
  // One more byte (a trailing newline) is another invoice.
  auto other = InvoiceRefFromXml(xml + "\n");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->invoice_sha256, ref->invoice_sha256);
}

constexpr char kMinimal[] =
    "<Faktura xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\">"
    "<Podmiot1><DaneIdentyfikacyjne><NIP>%s</NIP></DaneIdentyfikacyjne></Podmiot1>"
    "<Fa><P_1>%s</P_1></Fa></Faktura>";

std::string Minimal(const std::string& nip, const std::string& date) {
  std::string out = kMinimal;
  out.replace(out.find("%s"), 2, nip);
  out.replace(out.find("%s"), 2, date);
  return out;
}

TEST(InvoiceXmlTest, PrefixedNamespaceAndWhitespace) {
  auto ref = InvoiceRefFromXml(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<f:Faktura xmlns:f=\"http://crd.gov.pl/wzor/2025/06/25/13775/\">"
      "<f:Podmiot1><f:DaneIdentyfikacyjne><f:NIP> 1111111111\n</f:NIP></f:DaneIdentyfikacyjne>"
      "</f:Podmiot1><f:Fa><f:P_1>2026-02-01</f:P_1></f:Fa></f:Faktura>");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->seller_nip, "1111111111");
  EXPECT_EQ(ref->issue_date, absl::CivilDay(2026, 2, 1));
}

TEST(InvoiceXmlTest, RefusesBadInvoices) {
  auto expect_refused = [](const std::string& xml, const std::string& needle) {
    auto ref = InvoiceRefFromXml(xml);
    EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument) << ref.status();
    EXPECT_THAT(std::string(ref.status().message()), HasSubstr(needle)) << ref.status();
  };
  ASSERT_TRUE(InvoiceRefFromXml(Minimal("1111111111", "2026-02-01")).ok());
  expect_refused(Minimal("1111111112", "2026-02-01"), "Podmiot1/DaneIdentyfikacyjne/NIP");
  expect_refused(Minimal("1111111111", "2026-02-30"), "Fa/P_1");
  expect_refused(Minimal("1111111111", ""), "Fa/P_1");
  expect_refused(
      "<Faktura xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\"><Fa><P_1>"
      "2026-02-01</P_1></Fa></Faktura>",
      "Podmiot1/DaneIdentyfikacyjne/NIP is missing");
  expect_refused(
      "<Faktura xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\"><Podmiot1>"
      "<DaneIdentyfikacyjne><NIP>1111111111</NIP></DaneIdentyfikacyjne></Podmiot1>"
      "</Faktura>",
      "Fa/P_1 is missing");
  // FA(2) namespace or none: not an FA(3) invoice.
  std::string fa2 = Minimal("1111111111", "2026-02-01");
  fa2.replace(fa2.find("2025/06/25/13775"), 16, "2023/06/29/12648");
  expect_refused(fa2, "FA(3) namespace");
  expect_refused("<Faktura><Podmiot1/></Faktura>", "FA(3) namespace");
  expect_refused(std::string(kMaxInvoiceBytes + 1, ' '), "larger than");
  expect_refused("<Faktura", "not well-formed");
  expect_refused("", "not well-formed");
}

TEST(InvoiceXmlTest, RefusesDoctypeAndEntities) {
  // Internal entity used as the NIP: must not be expanded, and is refused.
  for (const std::string& xml :
       {std::string(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE Faktura [<!ENTITY nip \"1111111111\">]>\n") +
            Minimal("&nip;", "2026-02-01"),
        std::string("<!DOCTYPE Faktura SYSTEM \"http://127.0.0.1:9/x.dtd\">") +
            Minimal("1111111111", "2026-02-01"),
        std::string("<!DOCTYPE Faktura [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>") +
            Minimal("&x;", "2026-02-01"),
        std::string("<!DOCTYPE Faktura [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
                    "\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>") +
            Minimal("&b;", "2026-02-01")}) {
    auto ref = InvoiceRefFromXml(xml);
    EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument) << ref.status();
    EXPECT_THAT(std::string(ref.status().message()), HasSubstr("DOCTYPE")) << ref.status();
  }
  // An undeclared entity reference is not well-formed.
  auto ref = InvoiceRefFromXml(Minimal("&nip;", "2026-02-01"));
  EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument) << ref.status();
}

}  // namespace
}  // namespace ksef::qr
