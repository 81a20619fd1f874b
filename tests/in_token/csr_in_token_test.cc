// CSRs signed inside a real SoftHSM2 token verify with OpenSSL, many times
// over (catches r or s values that need left padding in the DER re-encoding).
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include "common/openssl_ptr.h"
#include "formats/csr/csr_builder.h"
#include "pkcs11/hsm.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/test_hsm.h"

namespace ksef {
namespace {

absl::Status VerifyCsr(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ, X509_REQ_free>> req(
      d2i_X509_REQ(nullptr, &p, der.size()));
  if (!req) return absl::InvalidArgumentError("not a CSR");
  EvpPkeyPtr key(X509_REQ_get_pubkey(req.get()));
  if (!key || X509_REQ_verify(req.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(OpenSslError("CSR signature does not verify"));
  }
  return absl::OkStatus();
}

TEST(CsrInTokenTest, TenThousandTokenSignedCsrsAllVerify) {
  auto token = testing::TestToken::Create("csr-token");
  ASSERT_TRUE(token.ok()) << token.status();
  auto h = ksef::testing::OpenTestHsm(**token);
  ASSERT_TRUE(h.ok()) << h.status();
  auto key = (*h)->keys().Generate(crypto::KeyAlgorithm::kEcP256, "csr");
  ASSERT_TRUE(key.ok()) << key.status();
  auto signer = (*h)->keys().GetSigner(key->id);
  ASSERT_TRUE(signer.ok()) << signer.status();

  csr::EnrollmentData data;
  data.common_name = "Firma Testowa Sp. z o.o.";
  data.organization_name = "Firma Testowa Sp. z o.o.";
  data.organization_identifier = "VATPL-5265877635";
  data.country_name = "PL";
  int failures = 0;
  for (int i = 0; i < 10000; ++i) {
    auto der = csr::BuildCsrDer(data, **signer);
    ASSERT_TRUE(der.ok()) << der.status();
    absl::Status verified = VerifyCsr(*der);
    if (!verified.ok()) {
      ++failures;
      ADD_FAILURE() << "CSR " << i << ": " << verified;
      if (failures > 5) break;
    }
  }
  EXPECT_EQ(failures, 0);

  // And an RSA-2048 token key.
  auto rsa = (*h)->keys().Generate(crypto::KeyAlgorithm::kRsa2048, "csr-rsa");
  ASSERT_TRUE(rsa.ok()) << rsa.status();
  auto rsa_signer = (*h)->keys().GetSigner(rsa->id);
  ASSERT_TRUE(rsa_signer.ok());
  auto der = csr::BuildCsrDer(data, **rsa_signer);
  ASSERT_TRUE(der.ok()) << der.status();
  EXPECT_TRUE(VerifyCsr(*der).ok());
}

}  // namespace
}  // namespace ksef
