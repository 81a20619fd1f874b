// XAdES AuthTokenRequest signatures made with keys inside a real SoftHSM2
// token: 1,000 documents signed by 8 threads at once all verify (in process:
// libxml2 C14N + OpenSSL, plus xmlsec1 on a sample), and an RSA-2048 token
// key's signature verifies with xmlsec1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "formats/cert/certificate_info.h"
#include "formats/cert/test_ca.h"
#include "formats/csr/csr_builder.h"
#include "formats/xades/xades_signer.h"
#include "formats/xades/xades_verifier.h"
#include "pkcs11/hsm.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/test_hsm.h"
#include "tests/support/xmlsec.h"

namespace ksef {
namespace {

using ::testing::HasSubstr;

constexpr int kThreads = 8;
constexpr int kDocuments = 1000;
constexpr int kXmlsecSample = 20;

// A distinct, valid challenge per document.
xades::AuthTokenRequest Request(int i) {
  xades::AuthTokenRequest r;
  r.challenge = absl::StrFormat("20260115-CR-%010X-3ACF9BE4C0-%02X", i, i % 256);
  r.context_identifier.nip = "5265877635";
  return r;
}


class XadesInTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = testing::TestToken::Create("xades-token");
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = std::move(*token);
    auto h = ksef::testing::OpenTestHsm(*token_);
    ASSERT_TRUE(h.ok()) << h.status();
    hsm_ = std::move(*h);
    auto ca = cert::TestCa::CreateInMemory();
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::move(*ca);
  }

  // A token key of `algorithm`, with a test-CA Authentication certificate.
  void MakeKey(crypto::KeyAlgorithm algorithm, std::shared_ptr<crypto::Signer>* signer,
               std::string* cert_der) {
    auto key = hsm_->keys().Generate(algorithm, "xades");
    ASSERT_TRUE(key.ok()) << key.status();
    auto s = hsm_->keys().GetSigner(key->id);
    ASSERT_TRUE(s.ok()) << s.status();
    csr::EnrollmentData data;
    data.common_name = "Firma Testowa Sp. z o.o.";
    data.organization_name = "Firma Testowa Sp. z o.o.";
    data.organization_identifier = "VATPL-5265877635";
    data.country_name = "PL";
    auto csr = csr::BuildCsrDer(data, **s);
    ASSERT_TRUE(csr.ok()) << csr.status();
    auto der =
        ca_->Issue(*csr, cert::CertificateType::kAuthentication, absl::Now() - absl::Hours(1));
    ASSERT_TRUE(der.ok()) << der.status();
    *signer = std::move(*s);
    *cert_der = std::move(*der);
  }

  std::unique_ptr<testing::TestToken> token_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
  std::unique_ptr<cert::TestCa> ca_;
};

TEST_F(XadesInTokenTest, ThousandConcurrentSignaturesAllVerify) {
  std::shared_ptr<crypto::Signer> signer;
  std::string cert_der;
  ASSERT_NO_FATAL_FAILURE(MakeKey(crypto::KeyAlgorithm::kEcP256, &signer, &cert_der));
  auto cert = xades::XadesCertificate::FromDer(cert_der);  // once per key
  ASSERT_TRUE(cert.ok()) << cert.status();

  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  absl::Mutex mu;
  std::vector<std::string> errors;
  std::vector<std::string> sample;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < kDocuments; i = next++) {
        auto signed_doc = xades::SignAuthTokenRequest(Request(i), *cert, *signer);
        absl::Status status = signed_doc.status();
        if (status.ok()) {
          auto verified = xades::VerifySignedAuthTokenRequest(signed_doc->xml);
          status = verified.status();
          if (status.ok() && verified->signed_info_sha256 != signed_doc->signed_info_sha256) {
            status = absl::InternalError("signed digest differs from the verifier's");
          }
        }
        absl::MutexLock lock(&mu);
        if (!status.ok()) {
          ++failures;
          if (errors.size() < 5)
            errors.push_back(absl::StrCat("document ", i, ": ", status.ToString()));
        } else if (i % (kDocuments / kXmlsecSample) == 0) {
          sample.push_back(signed_doc->xml);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (const std::string& e : errors) ADD_FAILURE() << e;

  ASSERT_EQ(sample.size(), static_cast<size_t>(kXmlsecSample));
  for (const std::string& xml : sample) {
    std::string output;
    EXPECT_EQ(testing::XmlsecVerify(xml, cert_der, &output), 0) << output;
    EXPECT_THAT(output, HasSubstr("OK"));
  }
}

TEST_F(XadesInTokenTest, Rsa2048TokenKeyVerifiesWithXmlsec1) {
  std::shared_ptr<crypto::Signer> signer;
  std::string cert_der;
  ASSERT_NO_FATAL_FAILURE(MakeKey(crypto::KeyAlgorithm::kRsa2048, &signer, &cert_der));
  auto cert = xades::XadesCertificate::FromDer(cert_der);
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto signed_doc = xades::SignAuthTokenRequest(Request(7), *cert, *signer);
  ASSERT_TRUE(signed_doc.ok()) << signed_doc.status();
  EXPECT_THAT(signed_doc->xml, HasSubstr("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"));
  std::string output;
  EXPECT_EQ(testing::XmlsecVerify(signed_doc->xml, cert_der, &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("OK"));
  EXPECT_TRUE(xades::VerifySignedAuthTokenRequest(signed_doc->xml).ok());
}

}  // namespace
}  // namespace ksef
