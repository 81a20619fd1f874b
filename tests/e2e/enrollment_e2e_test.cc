// End-to-end enrollment: the real ksef-hsmd on a real SoftHSM2 token (or,
// with KSEF_TEST_PKCS11_BACKEND=tpm2, tpm2-pkcs11 over swtpm) over mTLS gRPC.
// Key -> CSR (from KSeF's enrollment-data JSON) -> local test CA
// -> import (as KSeF's /certificates/retrieve JSON) -> ACTIVE, surviving a
// restart; refusals leave the key unchanged; expiry listing and warnings.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/connection.h"
#include "formats/cert/certificate_info.h"
#include "formats/cert/test_ca.h"
#include "ksef/hsm/v1/enrollment_service.grpc.pb.h"
#include "ksef/hsm/v1/key_service.grpc.pb.h"
#include "tests/support/server_process.h"
#include "tests/support/softhsm_token.h"

namespace ksef {
namespace {

namespace pb = ::ksef::hsm::v1;
using ::ksef::testing::RunCommand;
using ::ksef::testing::ServerProcess;
using ::ksef::testing::TestToken;

constexpr char kEnrollmentDataJson[] =
    R"({"commonName":"Beta","countryName":"PL","serialNumber":null,"uniqueIdentifier":null,)"
    R"("organizationName":"Beta","organizationIdentifier":"VATPL-5265877635","givenName":null,)"
    R"("surname":null})";

template <typename Fn>
grpc::Status WithDeadline(Fn fn) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return fn(&ctx);
}

class EnrollmentE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = TestToken::Create("e2e-enroll");
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = std::move(*token);
    std::string out;
    const char* src = std::getenv("KSEF_SOURCE_DIR");
    ASSERT_NE(src, nullptr) << "run through ctest (KSEF_SOURCE_DIR)";
    ASSERT_EQ(RunCommand(absl::StrCat("bash ", src, "/scripts/dev-pki.sh ", token_->dir()), &out),
              0)
        << out;
    config_ = token_->dir() + "/server.conf";
    std::ofstream conf(config_);
    conf << "listen_address = 127.0.0.1:0\n"
         << "tls_cert_file = pki/server.pem\ntls_key_file = pki/server.key\n"
         << "tls_client_ca_file = pki/ca.pem\n"
         << "pkcs11_module = " << TestToken::ModulePath() << "\n"
         << "token_label = " << token_->label() << "\n"
         << "pin_file = " << token_->pin_file() << "\n"
         << "softhsm2_conf = " << token_->conf_path() << "\n"
         << "token_store_dir = " << token_->token_dir() << "\n"
         << "state_dir = state\n"
         << "policy_file = policy.conf\n"
         << "certificate_expiry_warning = 60d\n";
    ksef::testing::WriteFullAccessPolicy(token_->dir() + "/policy.conf");
    auto ca = cert::TestCa::CreateInMemory();
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::move(*ca);
  }

  void Connect(int port) {
    client::ConnectionOptions o;
    o.server_address = absl::StrCat("127.0.0.1:", port);
    o.ca_cert_file = token_->dir() + "/pki/ca.pem";
    o.client_cert_file = token_->dir() + "/pki/client.pem";
    o.client_key_file = token_->dir() + "/pki/client.key";
    auto channel = client::Connect(o);
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = *channel;
    keys_ = pb::KeyService::NewStub(channel_);
    enroll_ = pb::EnrollmentService::NewStub(channel_);
  }
  void Disconnect() {
    keys_.reset();
    enroll_.reset();
    channel_.reset();
  }

  pb::Key CreateKey(const std::string& id, pb::KeyPurpose purpose) {
    pb::CreateKeyRequest req;
    req.set_key_id(id);
    req.mutable_subject()->set_type(pb::KsefSubject::NIP);
    req.mutable_subject()->set_value("5265877635");
    req.set_purpose(purpose);
    pb::Key key;
    grpc::Status s = WithDeadline([&](auto* ctx) { return keys_->CreateKey(ctx, req, &key); });
    EXPECT_TRUE(s.ok()) << s.error_message();
    return key;
  }
  // CSR from the enrollment-data JSON, issued by the local test CA.
  std::string Enroll(const std::string& name, cert::CertificateType type, absl::Duration validity) {
    pb::GenerateCsrRequest req;
    req.set_name(name);
    req.set_enrollment_data_json(kEnrollmentDataJson);
    pb::GenerateCsrResponse resp;
    grpc::Status s = WithDeadline([&](auto* ctx) { return enroll_->GenerateCsr(ctx, req, &resp); });
    EXPECT_TRUE(s.ok()) << s.error_message();
    auto der = ca_->Issue(resp.csr_base64(), type, absl::Now() - absl::Minutes(5), validity);
    EXPECT_TRUE(der.ok()) << der.status();
    return der.ok() ? *der : "";
  }
  grpc::Status Import(const std::string& name, const std::string& certificate, pb::Key* key,
                      const std::string& serial = "") {
    pb::ImportCertificateRequest req;
    req.set_name(name);
    req.set_certificate(certificate);
    req.set_certificate_serial_number(serial);
    return WithDeadline([&](auto* ctx) { return enroll_->ImportCertificate(ctx, req, key); });
  }

  std::unique_ptr<TestToken> token_;
  std::string config_;
  std::unique_ptr<cert::TestCa> ca_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::KeyService::Stub> keys_;
  std::unique_ptr<pb::EnrollmentService::Stub> enroll_;
};

TEST_F(EnrollmentE2eTest, KeyToActiveCertificateSurvivesRestart) {
  std::string log_path = token_->dir() + "/server.log";
  auto server = ServerProcess::Start(config_, log_path);
  ASSERT_TRUE(server.ok()) << server.status();
  // The module the test backend chose (KSEF_TEST_PKCS11_BACKEND).
  EXPECT_TRUE(absl::StrContains((*server)->Log(), TestToken::IsTpm2() ? "TPM2.0 Cryptoki"
                                                                       : "SoftHSM"))
      << (*server)->Log();
  Connect((*server)->port());

  pb::Key key = CreateKey("e2e-auth", pb::AUTHENTICATION);
  pb::GenerateCsrRequest creq;
  creq.set_name("keys/e2e-auth");
  creq.set_enrollment_data_json(kEnrollmentDataJson);
  creq.set_certificate_name("Beta uwierzytelnienie");
  pb::GenerateCsrResponse csr;
  grpc::Status s = WithDeadline([&](auto* ctx) { return enroll_->GenerateCsr(ctx, creq, &csr); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(absl::StartsWith(csr.enrollment_request_json(),
                               "{\"certificateName\":\"Beta uwierzytelnienie\","
                               "\"certificateType\":\"Authentication\",\"csr\":\""))
      << csr.enrollment_request_json();
  // `openssl req -verify` prints its verdict on stderr (it exits 0 either way).
  std::string csr_path = token_->dir() + "/auth.csr";
  std::ofstream(csr_path) << csr.csr_pem();
  std::string out;
  ASSERT_EQ(RunCommand(absl::StrCat("openssl req -in ", csr_path, " -verify -noout 2>&1"), &out),
            0);
  EXPECT_TRUE(absl::StrContains(out, "verify OK")) << out;

  auto der = ca_->Issue(csr.csr_base64(), cert::CertificateType::kAuthentication,
                        absl::Now() - absl::Minutes(5), absl::Hours(24 * 30));
  ASSERT_TRUE(der.ok()) << der.status();
  auto info = cert::ParseCertificateDer(*der);
  ASSERT_TRUE(info.ok());

  // A wrong certificate first: the other key's, and one with the wrong usage.
  CreateKey("e2e-other", pb::OFFLINE);
  std::string other = Enroll("keys/e2e-other", cert::CertificateType::kOffline, absl::Hours(24 * 400));
  pb::Key refused;
  s = Import("keys/e2e-auth", other, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "public key")) << s.error_message();
  std::string offline_usage =
      Enroll("keys/e2e-auth", cert::CertificateType::kOffline, absl::Hours(24 * 400));
  s = Import("keys/e2e-auth", offline_usage, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "digitalSignature")) << s.error_message();
  std::string list;
  ASSERT_EQ(RunCommand(absl::StrCat("SOFTHSM2_CONF=", token_->conf_path(), " pkcs11-tool --module ",
                                    TestToken::ModulePath(), " --token-label ", token_->label(),
                                    " --list-objects --type cert 2>&1"),
                       &list),
            0);
  EXPECT_FALSE(absl::StrContains(list, "Certificate Object")) << list;

  // The real one, as KSeF's POST /certificates/retrieve returns it.
  std::string retrieve = absl::StrCat(
      R"({"certificates":[{"certificate":")", absl::Base64Escape(*der),
      R"(","certificateName":"Beta uwierzytelnienie","certificateSerialNumber":")",
      info->serial_hex, R"(","certificateType":"Authentication"}]})");
  pb::Key active;
  s = Import("keys/e2e-auth", retrieve, &active, info->serial_hex);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(active.state(), pb::ACTIVE);
  EXPECT_EQ(active.origin(), pb::GENERATED);
  ASSERT_EQ(RunCommand(absl::StrCat("SOFTHSM2_CONF=", token_->conf_path(), " pkcs11-tool --module ",
                                    TestToken::ModulePath(), " --token-label ", token_->label(),
                                    " --list-objects --type cert 2>&1"),
                       &list),
            0);
  EXPECT_TRUE(absl::StrContains(list, "Certificate Object")) << list;

  // Expiring within 60 days: listed, and warned about at the next start.
  pb::ListKeysRequest lreq;
  lreq.mutable_expiring_within()->set_seconds(60 * 86400);
  pb::ListKeysResponse lresp;
  s = WithDeadline([&](auto* ctx) { return keys_->ListKeys(ctx, lreq, &lresp); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(lresp.keys_size(), 1);
  EXPECT_EQ(lresp.keys(0).name(), "keys/e2e-auth");
  lreq.mutable_expiring_within()->set_seconds(7 * 86400);
  s = WithDeadline([&](auto* ctx) { return keys_->ListKeys(ctx, lreq, &lresp); });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(lresp.keys_size(), 0);

  Disconnect();
  ASSERT_EQ((*server)->Stop(SIGTERM), 0) << (*server)->Log();
  server->reset();

  auto again = ServerProcess::Start(config_, log_path);
  ASSERT_TRUE(again.ok()) << again.status();
  Connect((*again)->port());
  pb::GetKeyRequest greq;
  greq.set_name("keys/e2e-auth");
  pb::Key got;
  s = WithDeadline([&](auto* ctx) { return keys_->GetKey(ctx, greq, &got); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.state(), pb::ACTIVE);
  EXPECT_EQ(got.certificate().serial_number(), info->serial_hex);
  EXPECT_EQ(got.certificate().serial_number().size(), 16u);
  EXPECT_EQ(got.certificate().sha256_fingerprint(), info->sha256_fingerprint);
  EXPECT_EQ(got.certificate().sha256_fingerprint().size(), 64u);
  EXPECT_EQ(got.certificate().not_after().seconds(), absl::ToUnixSeconds(info->not_after));
  EXPECT_EQ(got.certificate().not_before().seconds(), absl::ToUnixSeconds(info->not_before));
  EXPECT_TRUE(absl::StrContains(got.certificate().subject(), "VATPL-5265877635"));
  EXPECT_TRUE(absl::StrContains(got.certificate().issuer(), "NOT KSeF"));
  Disconnect();
  ASSERT_EQ((*again)->Stop(SIGTERM), 0);
  std::string log = (*again)->Log();
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("certificate ", info->serial_hex,
                                                  " of key keys/e2e-auth expires at")))
      << log;
}

TEST_F(EnrollmentE2eTest, SelfSignedTestCertificateActivatesKey) {
  auto server = ServerProcess::Start(config_, token_->dir() + "/self.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Connect((*server)->port());
  CreateKey("e2e-self", pb::AUTHENTICATION);
  pb::IssueSelfSignedCertificateRequest req;
  req.set_name("keys/e2e-self");
  req.set_form(pb::IssueSelfSignedCertificateRequest::SEAL);
  req.set_common_name("Beta");
  req.set_organization_name("Beta Sp. z o.o.");
  pb::Key key;
  grpc::Status s =
      WithDeadline([&](auto* ctx) { return enroll_->IssueSelfSignedCertificate(ctx, req, &key); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(key.state(), pb::ACTIVE);
  EXPECT_EQ(key.certificate().subject(), key.certificate().issuer());
  EXPECT_TRUE(absl::StrContains(key.certificate().subject(), "VATPL-5265877635"));
  req.set_form(pb::IssueSelfSignedCertificateRequest::FORM_UNSPECIFIED);
  s = WithDeadline([&](auto* ctx) { return enroll_->IssueSelfSignedCertificate(ctx, req, &key); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "form")) << s.error_message();
  Disconnect();
  EXPECT_EQ((*server)->Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace ksef
