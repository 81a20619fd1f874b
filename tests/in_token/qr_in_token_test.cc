// KOD II links signed by an EC P-256 key inside a real SoftHSM2 token:
// 10,000 links (distinct invoices) each verify in process with OpenSSL over
// the exact signed string, a sample also with the `openssl dgst` command,
// and one link's PNG decodes with zbarimg to exactly the link.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ecdsa.h"
#include "common/encoding.h"
#include "crypto/sha256.h"
#include "formats/qr/links.h"
#include "formats/qr/qr_image.h"
#include "pkcs11/hsm.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/test_hsm.h"

namespace ksef {
namespace {

using ::testing::HasSubstr;

constexpr int kLinks = 10000;
constexpr int kOpensslSample = 5;
constexpr char kSerial[] = "0321C82DA41B4362";

// A distinct invoice per index: the hash is SHA-256 of a distinct document.
qr::InvoiceRef Invoice(int i) {
  return qr::InvoiceRef{"5265877635", absl::CivilDay(2026, 1, 1) + i % 365,
                        crypto::Sha256(absl::StrCat("<Faktura n=\"", i, "\"/>"))};
}

class QrInTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = testing::TestToken::Create("qr-token");
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = std::move(*token);
    auto h = ksef::testing::OpenTestHsm(*token_);
    ASSERT_TRUE(h.ok()) << h.status();
    hsm_ = std::move(*h);
    auto key = hsm_->keys().Generate(crypto::KeyAlgorithm::kEcP256, "offline-qr");
    ASSERT_TRUE(key.ok()) << key.status();
    auto signer = hsm_->keys().GetSigner(key->id);
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = std::move(*signer);
  }

  std::unique_ptr<testing::TestToken> token_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
  std::shared_ptr<crypto::Signer> signer_;
};

// `openssl dgst -sha256 -verify` over the signed string, with the r||s
// signature converted to DER (what OpenSSL expects).
void VerifyWithOpensslCli(const std::string& dir, const std::string& spki_der, const qr::KodII& kod,
                          int i) {
  const std::string base = absl::StrCat(dir, "/", i);
  std::ofstream(base + ".pub.der", std::ios::binary) << spki_der;
  auto der_sig = EcdsaRawToDer(kod.signature);
  ASSERT_TRUE(der_sig.ok()) << der_sig.status();
  std::ofstream(base + ".sig.der", std::ios::binary) << *der_sig;
  std::ofstream(base + ".txt", std::ios::binary) << kod.signed_string;
  std::string output;
  ASSERT_EQ(testing::RunCommand(absl::StrCat("openssl pkey -pubin -inform DER -in ", base,
                                             ".pub.der -out ", base, ".pub.pem"),
                                &output),
            0)
      << output;
  int rc =
      testing::RunCommand(absl::StrCat("openssl dgst -sha256 -verify ", base,
                                       ".pub.pem -signature ", base, ".sig.der ", base, ".txt"),
                          &output);
  EXPECT_EQ(rc, 0) << output;
  EXPECT_THAT(output, HasSubstr("Verified OK"));
  // And the command does say no for another string.
  std::ofstream(base + ".txt", std::ios::binary) << kod.signed_string << "/";
  rc = testing::RunCommand(absl::StrCat("openssl dgst -sha256 -verify ", base,
                                        ".pub.pem -signature ", base, ".sig.der ", base, ".txt"),
                           &output);
  EXPECT_NE(rc, 0) << output;
}

TEST_F(QrInTokenTest, TenThousandKodIILinksAllVerify) {
  const std::string base_url = qr::QrBaseUrl(qr::Environment::kTest);
  const std::string& spki = signer_->public_key_der();
  const std::string dir = testing::MakeTempDir("qr-token-openssl");
  int failures = 0;
  absl::Time start = absl::Now();
  for (int i = 0; i < kLinks; ++i) {
    qr::InvoiceRef invoice = Invoice(i);
    auto kod =
        qr::SignKodII(base_url, qr::ContextType::kNip, "5265877635", invoice, kSerial, *signer_);
    ASSERT_TRUE(kod.ok()) << i << ": " << kod.status();
    // The signed string is what the link says, rebuilt independently.
    std::string expected =
        absl::StrCat("qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/", kSerial, "/",
                     Base64UrlEncode(invoice.invoice_sha256));
    if (kod->signed_string != expected || kod->signature.size() != 64 ||
        kod->link != absl::StrCat("https://", expected, "/", Base64UrlEncode(kod->signature)) ||
        !VerifyEcdsaSha256Raw(spki, crypto::Sha256(expected), kod->signature).ok()) {
      if (++failures <= 5) ADD_FAILURE() << "link " << i << " does not verify: " << kod->link;
    }
    if (i < kOpensslSample) {
      ASSERT_NO_FATAL_FAILURE(VerifyWithOpensslCli(dir, spki, *kod, i));
    }
    if (i == 0) {
      auto png = qr::RenderPng(kod->link, qr::QrImageOptions{.label = qr::kLabelCertificate});
      ASSERT_TRUE(png.ok()) << png.status();
      std::ofstream(dir + "/kod2.png", std::ios::binary) << *png;
      std::string decoded;
      ASSERT_EQ(
          testing::RunCommand("(zbarimg --raw -q " + dir + "/kod2.png 2>/dev/null)", &decoded), 0);
      EXPECT_EQ(decoded, kod->link + "\n");
    }
  }
  EXPECT_EQ(failures, 0);
  GTEST_LOG_(INFO) << kLinks << " KOD II links signed in the token and verified in "
                   << absl::Now() - start;
  testing::RunCommand("rm -rf " + dir);
}

}  // namespace
}  // namespace ksef
