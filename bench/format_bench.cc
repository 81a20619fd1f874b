// format_bench: what each KSeF format costs on top of the raw PKCS#11
// signature it contains, measured in the same run on the same SoftHSM2 key.
//
//   raw:       C_SignInit + C_Sign of a SHA-256 digest (one session, known handle)
//   csr:       ksef::csr::BuildCsrDer (CRI, SHA-256, sign, DER-wrap)
//   xades:     ksef::xades::SignAuthTokenRequest (serialize, parse, 3 x C14N,
//              2 digests, sign), certificate parts precomputed
//   kod_ii:    ksef::qr::SignKodII (link string, SHA-256, sign, Base64URL)
//   png_kod_ii: one labelled QR image (PNG) of a KOD II link made beforehand
//   png_both:  the two labelled images of an invoice (KOD I "OFFLINE", KOD II
//              "CERTYFIKAT"), links made beforehand: no signature
//   svg_both:  the same two images as SVG (SignOfflineInvoice returns both forms)
//   kod_ii+png: SignKodII plus KOD I and both PNG images
// The QR cases cycle through 64 invoices (different hashes, so different
// links and images).
//
// Prints ops/s, microseconds per op and the ratio format/raw (1.00 = the
// format costs nothing), one thread, by the wall clock and by the process's
// CPU time; raw is measured first and last, the ratios use the mean. Run: build/bench/format_bench
// [seconds_per_case]
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <utility>
#include <vector>

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

double ProcessCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec / 1e9;
}

// Operations per wall-clock second and per CPU second of this process
// (SoftHSM2 signs in-process; on a machine shared with other work the
// CPU-time rate is the steadier one).
struct Rate {
  double wall = 0;
  double cpu = 0;
};

Rate Measure(absl::Duration duration, const std::function<bool()>& fn) {
  long n = 0;
  const double cpu_start = ProcessCpuSeconds();
  const absl::Time start = absl::Now(), end = start + duration;
  while (absl::Now() < end) {
    if (!fn()) {
      std::fprintf(stderr, "benchmark step failed\n");
      std::abort();
    }
    ++n;
  }
  return {n / absl::ToDoubleSeconds(absl::Now() - start), n / (ProcessCpuSeconds() - cpu_start)};
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
  auto cert_der =
      (*ca)->Issue(*csr_der, cert::CertificateType::kAuthentication, absl::Now() - absl::Hours(1));
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
  // Invoices of their own, cycled through: images of one text drawn again
  // and again would let the branch predictor learn the whole drawing.
  constexpr size_t kInvoices = 64;
  std::vector<qr::InvoiceRef> invoices(kInvoices, invoice);
  std::vector<std::string> kod_i_links, kod_ii_links;
  for (size_t i = 0; i < kInvoices; ++i) {
    const std::string content = "invoice " + std::to_string(i);
    SHA256(reinterpret_cast<const unsigned char*>(content.data()), content.size(), digest);
    invoices[i].invoice_sha256.assign(reinterpret_cast<char*>(digest), 32);
    auto kod_i = qr::BuildKodI(base, invoices[i]);
    auto kod_ii =
        qr::SignKodII(base, qr::ContextType::kNip, "5265877635", invoices[i], serial, **signer);
    if (!kod_i.ok() || !kod_ii.ok()) return 1;
    kod_i_links.push_back(*kod_i);
    kod_ii_links.push_back(kod_ii->link);
  }
  size_t next = 0;
  auto next_invoice = [&] { return next++ % kInvoices; };
  const qr::QrImageOptions kod_i_options{.label = qr::kLabelOffline};
  const qr::QrImageOptions kod_ii_options{.label = qr::kLabelCertificate};
  const std::pair<const char*, std::function<bool()>> cases[] = {
      {"csr", [&] { return csr::BuildCsrDer(data, **signer).ok(); }},
      {"xades", [&] { return xades::SignAuthTokenRequest(request, *xades_cert, **signer).ok(); }},
      {"kod_ii",
       [&] {
         return qr::SignKodII(base, qr::ContextType::kNip, "5265877635", invoice, serial, **signer)
             .ok();
       }},
      {"png_kod_ii",
       [&] { return qr::RenderPng(kod_ii_links[next_invoice()], kod_ii_options).ok(); }},
      {"png_both",
       [&] {
         const size_t i = next_invoice();
         return qr::RenderPng(kod_i_links[i], kod_i_options).ok() &&
                qr::RenderPng(kod_ii_links[i], kod_ii_options).ok();
       }},
      {"svg_both",
       [&] {
         const size_t i = next_invoice();
         return qr::RenderSvg(kod_i_links[i], kod_i_options).ok() &&
                qr::RenderSvg(kod_ii_links[i], kod_ii_options).ok();
       }},
      {"kod_ii+png",
       [&] {
         const qr::InvoiceRef& inv = invoices[next_invoice()];
         auto kod = qr::SignKodII(base, qr::ContextType::kNip, "5265877635", inv, serial, **signer);
         auto kod_i = qr::BuildKodI(base, inv);
         return kod.ok() && kod_i.ok() && qr::RenderPng(*kod_i, kod_i_options).ok() &&
                qr::RenderPng(kod->link, kod_ii_options).ok();
       }},
  };
  // Raw is measured before and after the formats; the ratios use the mean
  // (a machine shared with other work drifts during a run).
  const Rate raw_before = Measure(per_case, raw);
  std::vector<std::pair<const char*, Rate>> results;
  for (const auto& [name, fn] : cases) results.emplace_back(name, Measure(per_case, fn));
  const Rate raw_after = Measure(per_case, raw);
  const Rate raw_rate{(raw_before.wall + raw_after.wall) / 2, (raw_before.cpu + raw_after.cpu) / 2};
  std::printf("%-12s %10s %8s %8s | %12s %8s %8s\n", "case", "ops/s", "us/op", "ratio", "ops/cpu-s",
              "us/op", "ratio");
  auto print = [&](const char* name, const Rate& r) {
    std::printf("%-12s %10.0f %8.1f %8.3f | %12.0f %8.1f %8.3f\n", name, r.wall, 1e6 / r.wall,
                r.wall / raw_rate.wall, r.cpu, 1e6 / r.cpu, r.cpu / raw_rate.cpu);
  };
  print("raw", raw_rate);
  for (const auto& [name, rate] : results) print(name, rate);
  std::printf("raw before %.0f/s (%.0f per cpu-s), after %.0f/s (%.0f per cpu-s)\n",
              raw_before.wall, raw_before.cpu, raw_after.wall, raw_after.cpu);
  return 0;
}
