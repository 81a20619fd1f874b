// format_bench: what each KSeF format costs on top of the raw PKCS#11
// signature it contains, measured in the same run on the same SoftHSM2 key.
//
//   raw:       C_SignInit + C_Sign of a SHA-256 digest (one session, known handle)
//   csr:       ksef::csr::BuildCsrDer (CRI, SHA-256, sign, DER-wrap)
//   xades:     ksef::xades::SignAuthTokenRequest (serialize, parse, 3 x C14N,
//              2 digests, sign), certificate parts precomputed
//   kod_ii:    ksef::qr::SignKodII (link string, SHA-256, sign, Base64URL)
//   kod_ii+png: SignKodII plus the two QR images with labels (PNG)
//
// Prints ops/s and the ratio format/raw (1.00 = the format costs nothing),
// one thread. Run: build/bench/format_bench [seconds_per_case]
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "bench/raw_pkcs11.h"
#include "formats/cert/test_ca.h"
#include "formats/csr/csr_builder.h"
#include "formats/qr/links.h"
#include "formats/qr/qr_image.h"
#include "formats/xades/xades_signer.h"
#include "pkcs11/hsm.h"
#include "tests/support/softhsm_token.h"

namespace {

using namespace ksef;

double OpsPerSecond(absl::Duration duration, const std::function<bool()>& fn) {
  long n = 0;
  const absl::Time start = absl::Now(), end = start + duration;
  while (absl::Now() < end) {
    if (!fn()) {
      std::fprintf(stderr, "benchmark step failed\n");
      std::abort();
    }
    ++n;
  }
  return n / absl::ToDoubleSeconds(absl::Now() - start);
}

// The service's view of the bench token (sessions and signs as sign_bench).
absl::StatusOr<std::unique_ptr<pkcs11::Hsm>> OpenHsm(const testing::TestToken& token) {
  pkcs11::HsmOptions options;
  options.module_path = testing::TestToken::ModulePath();
  options.token_label = token.label();
  options.pin = SecureString(token.pin());
  options.session_pool_size = 8;
  options.max_concurrent_signs = 8;
  return pkcs11::Hsm::Open(std::move(options));
}

}  // namespace

int main(int argc, char** argv) {
  const absl::Duration per_case = absl::Seconds(argc > 1 ? std::atof(argv[1]) : 2.0);
  auto token = testing::TestToken::Create("format-bench");
  if (!token.ok()) {
    std::fprintf(stderr, "%s\n", token.status().ToString().c_str());
    return 1;
  }
  auto hsm = OpenHsm(**token);
  if (!hsm.ok()) {
    std::fprintf(stderr, "%s\n", hsm.status().ToString().c_str());
    return 1;
  }
  pkcs11::KeyStore& store = (*hsm)->keys();
  auto key = store.Generate(crypto::KeyAlgorithm::kEcP256, "bench");
  auto signer = store.GetSigner(key->id);
  if (!key.ok() || !signer.ok()) return 1;

  csr::EnrollmentData data;
  data.common_name = "Beta";
  data.organization_name = "Beta";
  data.organization_identifier = "VATPL-5265877635";
  data.country_name = "PL";
  auto ca = cert::TestCa::CreateInMemory();
  auto csr_der = csr::BuildCsrDer(data, **signer);
  auto cert_der = (*ca)->Issue(*csr_der, cert::CertificateType::kAuthentication,
                               absl::Now() - absl::Hours(1));
  auto xades_cert = xades::XadesCertificate::FromDer(*cert_der);
  if (!cert_der.ok() || !xades_cert.ok()) return 1;
  xades::AuthTokenRequest request;
  request.challenge = "20250514-CR-226FB7B000-3ACF9BE4C0-10";
  request.context_identifier.nip = "5265877635";
  qr::InvoiceRef invoice;
  invoice.seller_nip = "5265877635";
  invoice.issue_date = absl::CivilDay(2026, 2, 1);
  unsigned char digest[32];
  SHA256(reinterpret_cast<const unsigned char*>("invoice"), 7, digest);
  invoice.invoice_sha256.assign(reinterpret_cast<char*>(digest), 32);
  const std::string base = qr::QrBaseUrl(qr::Environment::kTest);
  const std::string serial = "01F20A5D352AE590";

  // Raw PKCS#11 on a session of our own, as sign_bench does.
  CK_FUNCTION_LIST* f = bench::RawFunctionList(testing::TestToken::ModulePath());
  CK_SESSION_HANDLE session = bench::OpenRawSessions(f, (*token)->label(), 1).front();
  CK_OBJECT_HANDLE handle = bench::FindKey(f, session, key->id);
  auto raw = [&] {
    CK_MECHANISM mech{CKM_ECDSA, nullptr, 0};
    unsigned char sig[64];
    CK_ULONG len = sizeof(sig);
    return f->C_SignInit(session, &mech, handle) == CKR_OK &&
           f->C_Sign(session, digest, 32, sig, &len) == CKR_OK && len == 64;
  };
  const std::pair<const char*, std::function<bool()>> cases[] = {
      {"csr", [&] { return csr::BuildCsrDer(data, **signer).ok(); }},
      {"xades", [&] { return xades::SignAuthTokenRequest(request, *xades_cert, **signer).ok(); }},
      {"kod_ii",
       [&] {
         return qr::SignKodII(base, qr::ContextType::kNip, "5265877635", invoice, serial, **signer)
             .ok();
       }},
      {"kod_ii+png",
       [&] {
         auto kod = qr::SignKodII(base, qr::ContextType::kNip, "5265877635", invoice, serial,
                                  **signer);
         auto kod_i = qr::BuildKodI(base, invoice);
         qr::QrImageOptions o;
         o.label = qr::kLabelOffline;
         bool ok = kod.ok() && kod_i.ok() && qr::RenderPng(*kod_i, o).ok();
         o.label = qr::kLabelCertificate;
         return ok && qr::RenderPng(kod->link, o).ok();
       }},
  };
  const double raw_ops = OpsPerSecond(per_case, raw);
  std::printf("%-12s %12s %8s\n", "case", "ops/s", "ratio");
  std::printf("%-12s %12.0f %8.3f\n", "raw", raw_ops, 1.0);
  for (const auto& [name, fn] : cases) {
    const double ops = OpsPerSecond(per_case, fn);
    std::printf("%-12s %12.0f %8.3f\n", name, ops, ops / raw_ops);
  }
  return 0;
}
