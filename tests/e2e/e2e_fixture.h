// E2eFixture: the real ksef-hsmd on a throwaway SoftHSM2 token with the
// development PKI (client certificates "client" = full access, "alice" =
// key-admin/enrollment/auth-signing for NIP 5265877635, "mallory" = no
// grant), callers with one stub per service, and helpers to make keys with
// local-test-CA certificates. Shared by the end-to-end tests.
#ifndef KSEF_TESTS_E2E_E2E_FIXTURE_H_
#define KSEF_TESTS_E2E_E2E_FIXTURE_H_

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <openssl/sha.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/connection.h"
#include "formats/cert/certificate_info.h"
#include "formats/cert/test_ca.h"
#include "ksef/hsm/v1/audit_service.grpc.pb.h"
#include "ksef/hsm/v1/auth_service.grpc.pb.h"
#include "ksef/hsm/v1/enrollment_service.grpc.pb.h"
#include "ksef/hsm/v1/key_service.grpc.pb.h"
#include "ksef/hsm/v1/offline_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/server_process.h"
#include "tests/support/softhsm_token.h"

namespace ksef {

namespace pb = ::ksef::hsm::v1;
using ::ksef::testing::RunCommand;
using ::ksef::testing::ServerProcess;
using ::ksef::testing::TestToken;

constexpr char kNipA[] = "5265877635";
constexpr char kNipB[] = "1111111111";
constexpr char kChallenge[] = "20250514-CR-226FB7B000-3ACF9BE4C0-10";

// Sanitizer builds are slower and bigger (ASan's shadow memory and
// quarantine): their test runs set KSEF_TEST_TIME_SCALE and
// KSEF_TEST_MEMORY_SCALE (scripts/sanitize.sh). The factor in `variable`, at
// least 1.
inline double EnvScale(const char* variable) {
  const char* scale = std::getenv(variable);
  double value = 1;
  if (scale == nullptr || !absl::SimpleAtod(scale, &value) || value < 1) return 1;
  return value;
}
inline double TimeScale() { return EnvScale("KSEF_TEST_TIME_SCALE"); }

// Everything a caller needs: one channel and a stub per service.
struct Caller {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KeyService::Stub> keys;
  std::unique_ptr<pb::EnrollmentService::Stub> enroll;
  std::unique_ptr<pb::AuditService::Stub> audit;
  std::unique_ptr<pb::AuthService::Stub> auth;
  std::unique_ptr<pb::OfflineInvoiceService::Stub> offline;
};

// SHA-256 of `data`, raw 32 bytes.
inline std::string Sha256(absl::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof(md));
}

// Offline invoice number `n` of seller NIP A, to be signed with `key`.
inline pb::SignOfflineInvoiceRequest Invoice(const std::string& key, int n) {
  pb::SignOfflineInvoiceRequest req;
  req.set_name(key);
  req.mutable_context_identifier()->set_nip(kNipA);
  req.mutable_invoice_data()->set_seller_nip(kNipA);
  req.mutable_invoice_data()->set_issue_date("2026-02-01");
  req.mutable_invoice_data()->set_invoice_sha256(Sha256(absl::StrCat("invoice ", n)));
  req.set_request_id(absl::StrCat("inv-", n));
  return req;
}

template <typename Fn>
grpc::Status Call(Fn fn) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return fn(&ctx);
}

class E2eFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = TestToken::Create("e2e-audit");
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = std::move(*token);
    dir_ = token_->dir();
    std::string out;
    const char* src = std::getenv("KSEF_SOURCE_DIR");
    ASSERT_NE(src, nullptr) << "run through ctest (KSEF_SOURCE_DIR)";
    ASSERT_EQ(RunCommand(absl::StrCat("bash ", src, "/scripts/dev-pki.sh ", dir_), &out), 0)
        << out;
    for (const char* name : {"alice", "mallory"}) {
      ASSERT_TRUE(ksef::testing::IssueClientCertificate(dir_ + "/pki", name, name).ok());
    }
    WritePolicy("");
    config_ = dir_ + "/server.conf";
    std::ofstream(config_) << "listen_address = 127.0.0.1:0\n"
                           << "tls_cert_file = pki/server.pem\ntls_key_file = pki/server.key\n"
                           << "tls_client_ca_file = pki/ca.pem\n"
                           << "pkcs11_module = " << TestToken::ModulePath() << "\n"
                           << "token_label = " << token_->label() << "\n"
                           << "pin_file = " << token_->pin_file() << "\n"
                           << "softhsm2_conf = " << token_->conf_path() << "\n"
                           << "token_store_dir = " << token_->token_dir() << "\n"
                           << "state_dir = state\n"
                           << "policy_file = policy.conf\n"
                           << "node_id = e2e-node\n";
    ca_ = cert::TestCa::CreateInMemory().value();
  }

  // cli: everything; alice: key-admin + enrollment + auth-signing for NIP A.
  void WritePolicy(const std::string& extra) {
    ksef::testing::WriteFullAccessPolicy(
        dir_ + "/policy.conf",
        absl::StrCat("identity alice subject=\"CN=alice\"\n",
                     "grant alice key-admin,enrollment,auth-signing subject=nip:", kNipA, "\n",
                     extra));
  }

  Caller Connect(int port, const std::string& who) {
    client::ConnectionOptions o;
    o.server_address = absl::StrCat("127.0.0.1:", port);
    o.ca_cert_file = dir_ + "/pki/ca.pem";
    if (!who.empty()) {
      o.client_cert_file = absl::StrCat(dir_, "/pki/", who, ".pem");
      o.client_key_file = absl::StrCat(dir_, "/pki/", who, ".key");
    }
    auto channel = client::Connect(o);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return Stubs(*channel);
  }

  // A stub per service on `channel`.
  static Caller Stubs(std::shared_ptr<grpc::Channel> channel) {
    Caller c;
    c.channel = std::move(channel);
    c.keys = pb::KeyService::NewStub(c.channel);
    c.enroll = pb::EnrollmentService::NewStub(c.channel);
    c.audit = pb::AuditService::NewStub(c.channel);
    c.auth = pb::AuthService::NewStub(c.channel);
    c.offline = pb::OfflineInvoiceService::NewStub(c.channel);
    return c;
  }

  static pb::CreateKeyRequest KeyRequest(const std::string& id, const std::string& nip,
                                         pb::KeyPurpose purpose) {
    pb::CreateKeyRequest req;
    req.set_key_id(id);
    req.mutable_subject()->set_type(pb::KsefSubject::NIP);
    req.mutable_subject()->set_value(nip);
    req.set_purpose(purpose);
    return req;
  }

  // Creates an Authentication (or Offline) key with a test-CA certificate.
  void ActiveKey(Caller& c, const std::string& id, const std::string& nip, pb::KeyPurpose purpose,
                 absl::Duration validity = absl::Hours(24), int64_t usage_limit = 0) {
    pb::Key key;
    pb::CreateKeyRequest create = KeyRequest(id, nip, purpose);
    create.set_usage_limit(usage_limit);
    ASSERT_TRUE(Call([&](auto* ctx) { return c.keys->CreateKey(ctx, create, &key); }).ok());
    pb::GenerateCsrRequest csr_req;
    csr_req.set_name(key.name());
    csr_req.mutable_enrollment_data()->set_common_name("Beta");
    csr_req.mutable_enrollment_data()->set_country_name("PL");
    pb::GenerateCsrResponse csr;
    ASSERT_TRUE(Call([&](auto* ctx) { return c.enroll->GenerateCsr(ctx, csr_req, &csr); }).ok());
    auto der = ca_->Issue(csr.csr_der(),
                          purpose == pb::AUTHENTICATION ? cert::CertificateType::kAuthentication
                                                        : cert::CertificateType::kOffline,
                          absl::Now() - absl::Minutes(1), validity + absl::Minutes(1));
    ASSERT_TRUE(der.ok()) << der.status();
    pb::ImportCertificateRequest imp;
    imp.set_name(key.name());
    imp.set_certificate(*der);
    ASSERT_TRUE(Call([&](auto* ctx) { return c.enroll->ImportCertificate(ctx, imp, &key); }).ok());
  }

  static pb::SignAuthTokenRequest AuthRequest(const std::string& name) {
    pb::SignAuthTokenRequest req;
    req.set_name(name);
    req.set_challenge(kChallenge);
    req.mutable_context_identifier()->set_nip(kNipA);
    return req;
  }

  // One SignAuthToken call for the key `name`.
  static grpc::Status SignAuth(Caller& c, const std::string& name) {
    pb::SignedAuthToken resp;
    return Call([&](auto* ctx) { return c.auth->SignAuthToken(ctx, AuthRequest(name), &resp); });
  }

  // Whether grpc.health.v1 reports SERVING.
  static bool Serving(Caller& c) {
    auto health = grpc::health::v1::Health::NewStub(c.channel);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status s = Call([&](auto* ctx) { return health->Check(ctx, {}, &resp); });
    return s.ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  }

  // Polls health every 100 ms, at most `tries` times, until it is `serving`.
  static bool WaitForServing(Caller& c, bool serving, int tries) {
    for (int i = 0; i < tries; ++i) {
      absl::SleepFor(absl::Milliseconds(100));
      if (Serving(c) == serving) return true;
    }
    return false;
  }

  // All events, oldest first.
  std::vector<pb::AuditEvent> Events(Caller& c, const std::string& operation = "") {
    std::vector<pb::AuditEvent> out;
    pb::ListAuditEventsRequest req;
    req.set_operation(operation);
    req.set_page_size(1000);
    while (true) {
      pb::ListAuditEventsResponse resp;
      grpc::Status s = Call([&](auto* ctx) { return c.audit->ListAuditEvents(ctx, req, &resp); });
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const auto& e : resp.events()) out.push_back(e);
      if (!s.ok() || resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
    return out;
  }

  std::unique_ptr<TestToken> token_;
  std::string dir_, config_;
  std::unique_ptr<cert::TestCa> ca_;
};

}  // namespace ksef

#endif  // KSEF_TESTS_E2E_E2E_FIXTURE_H_
