// End-to-end offline invoices: KOD I / KOD II from the real ksef-hsmd with an
// Offline key in SoftHSM2; signatures checked with the openssl command over
// exactly the signed string, images decoded with zbarimg, refusals, and a
// 10,000-invoice stream with an invalid item in the middle.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ecdsa.h"
#include "common/encoding.h"
#include "common/files.h"
#include "tests/e2e/e2e_fixture.h"

namespace ksef {
namespace {

using OfflineE2eTest = E2eFixture;

// The KOD II signed string: the link without https:// and the signature.
std::string SignedStringOf(const std::string& link) {
  std::string rest = link.substr(std::string("https://").size());
  return rest.substr(0, rest.rfind('/'));
}

std::string SignatureOf(const std::string& link) {
  return Base64UrlDecode(link.substr(link.rfind('/') + 1)).value_or("");
}

class OfflineKeyTest : public OfflineE2eTest {
 protected:
  void StartWithKey() {
    auto server = ServerProcess::Start(config_, dir_ + "/server.log");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    cli_ = Connect(server_->port(), "client");
    ActiveKey(cli_, "off-a", kNipA, pb::OFFLINE);
    pb::GetPublicKeyRequest req;
    req.set_name("keys/off-a");
    pb::PublicKey pub;
    ASSERT_TRUE(Call([&](auto* ctx) { return cli_.keys->GetPublicKey(ctx, req, &pub); }).ok());
    spki_ = pub.der();
    pem_path_ = dir_ + "/off-a.pub.pem";
    std::ofstream(pem_path_) << pub.pem();
  }
  std::unique_ptr<ServerProcess> server_;
  Caller cli_;
  std::string spki_, pem_path_;
};

TEST_F(OfflineKeyTest, LinksVerifyWithOpensslAndImagesDecode) {
  StartWithKey();
  pb::SignOfflineInvoiceRequest req;
  req.set_name("keys/off-a");
  req.mutable_context_identifier()->set_nip(kNipA);
  auto xml = ReadFile(std::string(std::getenv("KSEF_SOURCE_DIR")) + "/examples/invoice-fa3.xml");
  ASSERT_TRUE(xml.ok()) << xml.status();
  req.set_invoice_xml(*xml);
  req.set_images(true);
  pb::OfflineInvoiceCodes codes;
  grpc::Status s = Call([&](auto* ctx) { return cli_.offline->SignOfflineInvoice(ctx, req, &codes); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(codes.seller_nip(), kNipA);
  EXPECT_EQ(codes.kod_i_link(), absl::StrCat("https://qr-test.ksef.mf.gov.pl/invoice/", kNipA, "/",
                                             "08-12-2025/", Base64UrlEncode(Sha256(*xml))));
  EXPECT_TRUE(absl::StartsWith(
      codes.kod_ii_link(),
      absl::StrCat("https://qr-test.ksef.mf.gov.pl/certificate/Nip/", kNipA, "/", kNipA, "/",
                   codes.certificate_serial_number(), "/", codes.invoice_hash(), "/")));
  EXPECT_EQ(codes.kod_i_label(), "OFFLINE");

  // openssl dgst -verify over exactly the signed string, r||s as DER.
  const std::string signed_string = SignedStringOf(codes.kod_ii_link());
  std::ofstream(dir_ + "/signed.txt", std::ios::binary) << signed_string;
  auto der = EcdsaRawToDer(SignatureOf(codes.kod_ii_link()));
  ASSERT_TRUE(der.ok());
  std::ofstream(dir_ + "/sig.der", std::ios::binary) << *der;
  std::string out;
  EXPECT_EQ(RunCommand(absl::StrCat("openssl dgst -sha256 -verify ", pem_path_, " -signature ",
                                    dir_, "/sig.der ", dir_, "/signed.txt"),
                       &out),
            0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "Verified OK")) << out;

  // The images decode to exactly the links.
  for (const auto& [png, link] : {std::make_pair(codes.kod_i_png(), codes.kod_i_link()),
                                  std::make_pair(codes.kod_ii_png(), codes.kod_ii_link())}) {
    std::ofstream(dir_ + "/code.png", std::ios::binary) << png;
    ASSERT_EQ(RunCommand(absl::StrCat("(zbarimg --raw -q ", dir_, "/code.png 2>/dev/null)"), &out),
              0);
    EXPECT_EQ(out, link + "\n");
  }
  EXPECT_TRUE(absl::StrContains(codes.kod_ii_svg(), "CERTYFIKAT"));
  EXPECT_TRUE(absl::StrContains(codes.kod_i_svg(), "OFFLINE"));
}

TEST_F(OfflineKeyTest, RefusesWrongKeysAndBadFields) {
  StartWithKey();
  ActiveKey(cli_, "auth-a", kNipA, pb::AUTHENTICATION);
  pb::Key key;
  ASSERT_TRUE(Call([&](auto* ctx) {
                return cli_.keys->CreateKey(ctx, KeyRequest("pending-off", kNipA, pb::OFFLINE),
                                            &key);
              }).ok());
  ActiveKey(cli_, "short-off", kNipA, pb::OFFLINE, absl::Seconds(2));
  absl::SleepFor(absl::Seconds(3));
  for (const char* name : {"keys/auth-a", "keys/pending-off", "keys/short-off"}) {
    pb::OfflineInvoiceCodes codes;
    grpc::Status s = Call(
        [&](auto* ctx) { return cli_.offline->SignOfflineInvoice(ctx, Invoice(name, 1), &codes); });
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << name << s.error_message();
  }
  struct Bad {
    std::function<void(pb::SignOfflineInvoiceRequest&)> edit;
    const char* field;
  } bad[] = {
      {[](auto& r) { r.mutable_invoice_data()->set_seller_nip("5265877636"); }, "seller_nip"},
      {[](auto& r) { r.mutable_invoice_data()->set_issue_date("2026-02-30"); }, "issue_date"},
      {[](auto& r) { r.mutable_invoice_data()->set_invoice_sha256("short"); }, "invoice_sha256"},
      {[](auto& r) { r.mutable_context_identifier()->set_internal_id("5265877635-1"); },
       "context_identifier"},
      {[](auto& r) { r.set_invoice_xml("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"); },
       "DOCTYPE"},
      // The KOD I label: a KSeF number (NIP-date-hex-checksum) or nothing.
      {[](auto& r) { r.set_ksef_number("5265877635-20250826-0100001AF629-AE"); }, "ksef_number"},
      {[](auto& r) { r.set_ksef_number("line\nbreak"); }, "ksef_number"},
  };
  for (const Bad& b : bad) {
    pb::SignOfflineInvoiceRequest req = Invoice("keys/off-a", 1);
    b.edit(req);
    pb::OfflineInvoiceCodes codes;
    grpc::Status s = Call([&](auto* ctx) { return cli_.offline->SignOfflineInvoice(ctx, req, &codes); });
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << b.field;
    EXPECT_TRUE(absl::StrContains(s.error_message(), b.field)) << s.error_message();
  }
}

TEST_F(OfflineKeyTest, AValidKsefNumberLabelsKodI) {
  StartWithKey();
  pb::SignOfflineInvoiceRequest req = Invoice("keys/off-a", 1);
  req.set_ksef_number("5265877635-20250826-0100001AF629-AF");  // KSeF docs' example
  pb::OfflineInvoiceCodes codes;
  grpc::Status s =
      Call([&](auto* ctx) { return cli_.offline->SignOfflineInvoice(ctx, req, &codes); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(codes.kod_i_label(), "5265877635-20250826-0100001AF629-AF");
}

TEST_F(OfflineKeyTest, TenThousandInvoicesOverOneStreamInOrder) {
  StartWithKey();
  constexpr int kInvoices = 10000;
  constexpr int kBad = 4321;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
  auto stream = cli_.offline->SignOfflineInvoices(&ctx);
  std::thread writer([&] {
    for (int i = 0; i < kInvoices; ++i) {
      pb::SignOfflineInvoiceRequest req = Invoice("keys/off-a", i);
      if (i == kBad) req.mutable_invoice_data()->set_seller_nip("123");
      if (!stream->Write(req)) break;
    }
    stream->WritesDone();
  });
  int received = 0, failed = 0;
  pb::OfflineInvoiceResult result;
  while (stream->Read(&result)) {
    EXPECT_EQ(result.index(), received);
    EXPECT_EQ(result.request_id(), absl::StrCat("inv-", received));
    if (result.index() == kBad) {
      EXPECT_EQ(result.error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
      EXPECT_TRUE(absl::StrContains(result.error_message(), "seller_nip"))
          << result.error_message();
      ++failed;
    } else {
      ASSERT_EQ(result.error_code(), 0) << result.error_message();
      const std::string& link = result.codes().kod_ii_link();
      ASSERT_TRUE(VerifyEcdsaSha256Raw(spki_, Sha256(SignedStringOf(link)), SignatureOf(link)).ok())
          << "invoice " << received;
    }
    ++received;
  }
  writer.join();
  grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(received, kInvoices);
  EXPECT_EQ(failed, 1);

  // One audit event per invoice, the failure included.
  pb::ListAuditEventsRequest lreq;
  lreq.set_operation("SignOfflineInvoices");
  lreq.set_page_size(1000);
  int events = 0;
  while (true) {
    pb::ListAuditEventsResponse lresp;
    ASSERT_TRUE(Call([&](auto* c) { return cli_.audit->ListAuditEvents(c, lreq, &lresp); }).ok());
    events += lresp.events_size();
    if (lresp.next_page_token().empty()) break;
    lreq.set_page_token(lresp.next_page_token());
  }
  EXPECT_EQ(events, kInvoices);
}

}  // namespace
}  // namespace ksef
