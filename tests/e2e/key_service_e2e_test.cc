// End-to-end: the real ksef-hsmd binary on a real SoftHSM2 token, called
// over real mTLS gRPC through the client library.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/connection.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "ksef/hsm/v1/key_service.grpc.pb.h"
#include "tests/support/server_process.h"
#include "tests/support/softhsm_token.h"

namespace ksef {
namespace {

namespace pb = ::ksef::hsm::v1;
using ::ksef::testing::RunCommand;
using ::ksef::testing::ServerProcess;
using ::ksef::testing::TestToken;

class KeyServiceE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto token = TestToken::Create("e2e");
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = token->release();
    dir_ = new std::string(token_->dir());
    std::string out;
    const char* src = std::getenv("KSEF_SOURCE_DIR");
    ASSERT_NE(src, nullptr) << "run through ctest (KSEF_SOURCE_DIR)";
    ASSERT_EQ(RunCommand(absl::StrCat("bash ", src, "/scripts/dev-pki.sh ", *dir_), &out), 0)
        << out;
  }
  static void TearDownTestSuite() {
    delete token_;
    delete dir_;
  }

  // Writes a server config; `extra` lines override/add options.
  std::string WriteConfig(const std::string& name, const std::string& extra = "",
                          const std::string& pin_file = "") {
    std::string path = absl::StrCat(*dir_, "/", name, ".conf");
    ksef::testing::WriteFullAccessPolicy(absl::StrCat(*dir_, "/policy.conf"));
    std::ofstream conf(path);
    conf << "listen_address = 127.0.0.1:0\n"
         << "tls_cert_file = pki/server.pem\ntls_key_file = pki/server.key\n"
         << "tls_client_ca_file = pki/ca.pem\n"
         << "pkcs11_module = " << TestToken::ModulePath() << "\n"
         << "token_label = " << token_->label() << "\n"
         << "pin_file = " << (pin_file.empty() ? token_->pin_file() : pin_file) << "\n"
         << "softhsm2_conf = " << token_->conf_path() << "\n"
         << "token_store_dir = " << token_->token_dir() << "\n"
         << "state_dir = state-" << name << "\n"
         << "token_check_interval = 200ms\n"
         << "policy_file = policy.conf\n"
         << extra;
    return path;
  }
  std::string LogPath(const std::string& name) { return absl::StrCat(*dir_, "/", name, ".log"); }

  std::unique_ptr<pb::KeyService::Stub> Stub(int port, bool with_client_cert = true) {
    client::ConnectionOptions o;
    o.server_address = absl::StrCat("127.0.0.1:", port);
    o.ca_cert_file = *dir_ + "/pki/ca.pem";
    if (with_client_cert) {
      o.client_cert_file = *dir_ + "/pki/client.pem";
      o.client_key_file = *dir_ + "/pki/client.key";
    }
    auto channel = client::Connect(o);
    EXPECT_TRUE(channel.ok()) << channel.status();
    channel_ = *channel;
    return pb::KeyService::NewStub(*channel);
  }

  static pb::CreateKeyRequest CreateRequest(const std::string& id,
                                            pb::KeyPurpose purpose = pb::OFFLINE) {
    pb::CreateKeyRequest req;
    req.set_key_id(id);
    req.mutable_subject()->set_type(pb::KsefSubject::NIP);
    req.mutable_subject()->set_value("5265877635");
    req.set_purpose(purpose);
    return req;
  }

  static grpc::Status Call(pb::KeyService::Stub* stub, const pb::CreateKeyRequest& req,
                           pb::Key* key) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub->CreateKey(&ctx, req, key);
  }
  template <typename Req, typename Resp>
  static grpc::Status Call(
      pb::KeyService::Stub* stub,
      grpc::Status (pb::KeyService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
      const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return (stub->*method)(&ctx, req, resp);
  }

  static TestToken* token_;
  static std::string* dir_;
  std::shared_ptr<grpc::Channel> channel_;
};
TestToken* KeyServiceE2eTest::token_ = nullptr;
std::string* KeyServiceE2eTest::dir_ = nullptr;

TEST_F(KeyServiceE2eTest, CreateListAndPublicKeyOverMtlsWithHealth) {
  auto server = ServerProcess::Start(WriteConfig("basic"), LogPath("basic"));
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = Stub((*server)->port());

  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext hctx;
  grpc::health::v1::HealthCheckResponse hresp;
  ASSERT_TRUE(health->Check(&hctx, {}, &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  pb::Key key;
  grpc::Status s = Call(stub.get(), CreateRequest("e2e-basic", pb::AUTHENTICATION), &key);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(key.name(), "keys/e2e-basic");
  EXPECT_EQ(key.state(), pb::PENDING_CERTIFICATE);
  EXPECT_EQ(key.algorithm(), pb::EC_P256);
  EXPECT_TRUE(key.attestation().never_extractable());
  EXPECT_TRUE(key.attestation().local());
  EXPECT_FALSE(key.attestation().extractable());
  EXPECT_EQ(key.pkcs11_uri().rfind("pkcs11:token=e2e;", 0), 0u) << key.pkcs11_uri();

  pb::ListKeysRequest lreq;
  lreq.set_purpose(pb::AUTHENTICATION);
  pb::ListKeysResponse lresp;
  ASSERT_TRUE(Call(stub.get(), &pb::KeyService::Stub::ListKeys, lreq, &lresp).ok());
  ASSERT_EQ(lresp.keys_size(), 1);
  EXPECT_EQ(lresp.keys(0).name(), "keys/e2e-basic");

  pb::GetPublicKeyRequest preq;
  preq.set_name(key.pkcs11_uri());  // by URI
  pb::PublicKey pub;
  ASSERT_TRUE(Call(stub.get(), &pb::KeyService::Stub::GetPublicKey, preq, &pub).ok());
  EXPECT_EQ(pub.name(), "keys/e2e-basic");
  EXPECT_EQ(pub.pem().rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  EXPECT_EQ(pub.der().size(), 91u);
  EXPECT_EQ(pub.sha256_fingerprint().size(), 64u);

  // Bad input: clear statuses.
  pb::GetKeyRequest greq;
  pb::Key got;
  greq.set_name("keys/missing");
  EXPECT_EQ(Call(stub.get(), &pb::KeyService::Stub::GetKey, greq, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  greq.set_name("pkcs11:id=%ZZ");
  s = Call(stub.get(), &pb::KeyService::Stub::GetKey, greq, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  pb::CreateKeyRequest bad = CreateRequest("e2e-bad");
  bad.set_purpose(pb::KEY_PURPOSE_UNSPECIFIED);
  s = Call(stub.get(), bad, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("purpose"), std::string::npos);
  bad = CreateRequest("e2e-bad");
  bad.mutable_subject()->set_value("");
  s = Call(stub.get(), bad, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("subject"), std::string::npos);

  EXPECT_EQ((*server)->Stop(SIGTERM), 0) << (*server)->Log();
  std::string log = (*server)->Log();
  EXPECT_NE(log.find("shutdown complete"), std::string::npos) << log;
}

TEST_F(KeyServiceE2eTest, ClientWithoutCertificateIsUnauthenticated) {
  auto server = ServerProcess::Start(WriteConfig("nocert"), LogPath("nocert"));
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = Stub((*server)->port(), /*with_client_cert=*/false);
  pb::Key key;
  grpc::Status s = Call(stub.get(), CreateRequest("e2e-nocert"), &key);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
}

TEST_F(KeyServiceE2eTest, EightConcurrentCreateKeyCallsGiveEightDistinctKeys) {
  auto server = ServerProcess::Start(WriteConfig("concurrent"), LogPath("concurrent"));
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = Stub((*server)->port());
  std::vector<pb::Key> keys(8);
  std::vector<grpc::Status> statuses(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = Call(stub.get(), CreateRequest(absl::StrCat("conc-", i)), &keys[i]);
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> uris, pubs;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    uris.insert(keys[i].pkcs11_uri());
    pb::GetPublicKeyRequest preq;
    preq.set_name(keys[i].name());
    pb::PublicKey pub;
    ASSERT_TRUE(Call(stub.get(), &pb::KeyService::Stub::GetPublicKey, preq, &pub).ok());
    pubs.insert(pub.der());
  }
  EXPECT_EQ(uris.size(), 8u);
  EXPECT_EQ(pubs.size(), 8u);
}

TEST_F(KeyServiceE2eTest, RestartKeepsKeysWithStateAndGracePeriodDestroys) {
  std::string config = WriteConfig("lifecycle",
                                   "destruction_grace_period = 4s\n"
                                   "destruction_check_interval = 200ms\n");
  auto server = ServerProcess::Start(config, LogPath("lifecycle"));
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = Stub((*server)->port());
  pb::Key kept, doomed, out;
  ASSERT_TRUE(Call(stub.get(), CreateRequest("life-kept"), &kept).ok());
  ASSERT_TRUE(Call(stub.get(), CreateRequest("life-doomed"), &doomed).ok());
  pb::DisableKeyRequest dreq;
  dreq.set_name("keys/life-kept");
  ASSERT_TRUE(Call(stub.get(), &pb::KeyService::Stub::DisableKey, dreq, &out).ok());
  pb::ScheduleKeyDestructionRequest sreq;
  sreq.set_name("keys/life-doomed");
  ASSERT_TRUE(Call(stub.get(), &pb::KeyService::Stub::ScheduleKeyDestruction, sreq, &out).ok());
  EXPECT_EQ(out.state(), pb::SCHEDULED_FOR_DESTRUCTION);
  EXPECT_TRUE(out.has_destroy_time());

  // Restart: every key comes back with its state. (Closing our idle
  // connection first keeps the graceful shutdown from waiting on it.)
  stub.reset();
  channel_.reset();
  ASSERT_EQ((*server)->Stop(SIGTERM), 0);
  server = ServerProcess::Start(config, LogPath("lifecycle"));
  ASSERT_TRUE(server.ok()) << server.status();
  stub = Stub((*server)->port());
  pb::GetKeyRequest greq;
  greq.set_name("keys/life-kept");
  grpc::Status got = Call(stub.get(), &pb::KeyService::Stub::GetKey, greq, &out);
  ASSERT_TRUE(got.ok()) << got.error_message() << "\n" << (*server)->Log();
  EXPECT_EQ(out.state(), pb::DISABLED);
  greq.set_name("keys/life-doomed");
  got = Call(stub.get(), &pb::KeyService::Stub::GetKey, greq, &out);
  ASSERT_TRUE(got.ok()) << got.error_message() << "\n" << (*server)->Log();
  EXPECT_EQ(out.state(), pb::SCHEDULED_FOR_DESTRUCTION);

  // Restorable inside the grace period...
  pb::RestoreKeyRequest rreq;
  rreq.set_name("keys/life-doomed");
  ASSERT_TRUE(Call(stub.get(), &pb::KeyService::Stub::RestoreKey, rreq, &out).ok());
  EXPECT_EQ(out.state(), pb::DISABLED);
  // ...and gone after it.
  ASSERT_TRUE(Call(stub.get(), &pb::KeyService::Stub::ScheduleKeyDestruction, sreq, &out).ok());
  absl::SleepFor(absl::Seconds(5));
  grpc::Status s = Call(stub.get(), &pb::KeyService::Stub::GetKey, greq, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(Call(stub.get(), &pb::KeyService::Stub::RestoreKey, rreq, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ((*server)->Stop(SIGTERM), 0);

  // The token objects are removed (checked with an independent tool).
  std::string list;
  ASSERT_EQ(RunCommand(absl::StrCat("pkcs11-tool --module ", TestToken::ModulePath(),
                                    " --token-label ", token_->label(), " --login --pin ",
                                    token_->pin(), " --list-objects"),
                       &list),
            0)
      << list;
  EXPECT_EQ(list.find("life-doomed"), std::string::npos) << list;
  EXPECT_NE(list.find("life-kept"), std::string::npos) << list;
}

TEST_F(KeyServiceE2eTest, StartupFailuresAreClearAndWrongPinNeverLocksTheToken) {
  std::string wrong_pin_file = *dir_ + "/wrong-pin";
  {
    std::ofstream(wrong_pin_file) << "not-the-pin-9876\n";
    std::filesystem::permissions(wrong_pin_file, std::filesystem::perms::owner_read |
                                                     std::filesystem::perms::owner_write);
  }
  std::string config = WriteConfig("wrongpin", "", wrong_pin_file);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ServerProcess::RunToExit(config, LogPath("wrongpin")), 1);
  }
  std::ifstream in(LogPath("wrongpin"));
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("CKR_PIN_INCORRECT"), std::string::npos) << log;
  EXPECT_EQ(log.find("not-the-pin-9876"), std::string::npos) << log;
  if (TestToken::IsTpm2()) {
    // A TPM counts the wrong PINs itself (dictionary-attack protection, 3 on
    // swtpm): the server then refuses the right PIN too, with CKR_PIN_LOCKED,
    // until the lockout is cleared (docs/operations.md).
    EXPECT_NE(log.find("CKR_PIN_LOCKED"), std::string::npos) << log;
    EXPECT_EQ(ServerProcess::RunToExit(WriteConfig("lockedpin"), LogPath("lockedpin")), 1);
    std::ifstream locked_in(LogPath("lockedpin"));
    std::string locked((std::istreambuf_iterator<char>(locked_in)),
                       std::istreambuf_iterator<char>());
    EXPECT_NE(locked.find("CKR_PIN_LOCKED"), std::string::npos) << locked;
    ASSERT_TRUE(token_->ClearTpm2Lockout().ok());
  }
  // The right PIN still works: nothing was locked.
  auto server = ServerProcess::Start(WriteConfig("rightpin"), LogPath("rightpin"));
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->Stop(SIGTERM), 0);

  // A missing module.
  std::string missing = WriteConfig("nomodule", "");
  std::ofstream(missing, std::ios::app) << "";
  {
    std::string text = absl::StrCat("listen_address = 127.0.0.1:0\nplaintext = true\n",
                                    "pkcs11_module = /nonexistent/libvendor-pkcs11.so\n",
                                    "pin_file = ", token_->pin_file(), "\n",
                                    "state_dir = state-nomodule\n");
    std::ofstream(missing) << text;
  }
  EXPECT_EQ(ServerProcess::RunToExit(missing, LogPath("nomodule")), 1);
  std::ifstream in2(LogPath("nomodule"));
  std::string log2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  EXPECT_NE(log2.find("/nonexistent/libvendor-pkcs11.so does not exist"), std::string::npos)
      << log2;

  // Plaintext is refused on a non-loopback address.
  std::string open_plain = absl::StrCat(*dir_, "/plain.conf");
  std::ofstream(open_plain) << "listen_address = 0.0.0.0:0\nplaintext = true\npin_file = "
                            << token_->pin_file() << "\n";
  EXPECT_EQ(ServerProcess::RunToExit(open_plain, LogPath("plain")), 1);
  std::ifstream in3(LogPath("plain"));
  std::string log3((std::istreambuf_iterator<char>(in3)), std::istreambuf_iterator<char>());
  EXPECT_NE(log3.find("loopback"), std::string::npos) << log3;
}

// Runs last (alphabetically later suites run later; gtest keeps file order):
// no server log of this binary contains the PIN or the SO PIN.
TEST_F(KeyServiceE2eTest, ZzNoLogLineContainsThePin) {
  int logs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(*dir_)) {
    if (entry.path().extension() != ".log") continue;
    ++logs;
    std::ifstream in(entry.path());
    std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(log.find(token_->pin()), std::string::npos) << entry.path();
    EXPECT_EQ(log.find(token_->so_pin()), std::string::npos) << entry.path();
  }
  EXPECT_GE(logs, 3);
}

}  // namespace
}  // namespace ksef
