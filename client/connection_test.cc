#include "client/connection.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/file_util.h"
#include "client/testing/fake_server.h"
#include "ksef/hsm/v1/key_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::client {
namespace {

using ::testing::HasSubstr;
namespace health = ::grpc::health::v1;

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/connection_test.XXXXXX";
    dir_ = mkdtemp(pattern.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  std::string dir_;
};

TEST_F(ConnectionTest, PlaintextNeedsNoFiles) {
  ConnectionOptions options;
  options.plaintext = true;
  options.ca_cert_file = "/nonexistent/ignored.pem";
  EXPECT_TRUE(Connect(options).ok());
}

TEST_F(ConnectionTest, EmptyAddress) {
  ConnectionOptions options;
  options.server_address = "";
  EXPECT_EQ(Connect(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ConnectionTest, MissingFilesAreNamed) {
  ConnectionOptions options;
  options.ca_cert_file = dir_ + "/missing-ca.pem";
  auto channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(channel.status().message(), absl::StrCat("cannot read CA certificate ", dir_,
                                                     "/missing-ca.pem: No such file or directory"));

  options.ca_cert_file = Write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  options.client_cert_file = dir_ + "/missing-client.pem";
  options.client_key_file = Write("client.key", "-----BEGIN PRIVATE KEY-----\n");
  channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.status().message(),
            absl::StrCat("cannot read client certificate ", dir_,
                         "/missing-client.pem: No such file or directory"));

  options.client_cert_file = Write("client.pem", "-----BEGIN CERTIFICATE-----\n");
  options.client_key_file = dir_ + "/missing.key";
  channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_THAT(channel.status().message(), HasSubstr("cannot read client key "));
}

TEST_F(ConnectionTest, UnreadableFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads everything";
  ConnectionOptions options;
  options.ca_cert_file = Write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  chmod(options.ca_cert_file.c_str(), 0);
  auto channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(channel.status().message(), HasSubstr("Permission denied"));
}

TEST_F(ConnectionTest, NotPem) {
  ConnectionOptions options;
  options.ca_cert_file = Write("ca.der", std::string("\x30\x82\x01\x0a", 4));
  auto channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(channel.status().message(), HasSubstr("ca.der is not a PEM certificate"));
}

TEST_F(ConnectionTest, SwappedCertificateAndKey) {
  ConnectionOptions options;
  options.client_cert_file = Write("client.key", "-----BEGIN EC PRIVATE KEY-----\n");
  options.client_key_file = Write("client.pem", "-----BEGIN CERTIFICATE-----\n");
  auto channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_THAT(channel.status().message(), HasSubstr("client.key is not a PEM certificate"));

  options.client_cert_file = options.client_key_file;
  channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_THAT(channel.status().message(), HasSubstr("client.pem is not a PEM private key"));
}

TEST_F(ConnectionTest, EncryptedKeyIsRefused) {
  ConnectionOptions options;
  options.client_cert_file = Write("client.pem", "-----BEGIN CERTIFICATE-----\n");
  options.client_key_file = Write("client.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\n");
  auto channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_THAT(channel.status().message(), HasSubstr("client.key is encrypted"));
}

TEST_F(ConnectionTest, DirectoryInsteadOfFile) {
  ConnectionOptions options;
  options.ca_cert_file = dir_;
  auto channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.status().message(),
            absl::StrCat("cannot read CA certificate ", dir_, ": Is a directory"));
}

TEST_F(ConnectionTest, CertificateAndKeyGoTogether) {
  ConnectionOptions options;
  options.client_cert_file = Write("client.pem", "-----BEGIN CERTIFICATE-----\n");
  auto channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_THAT(channel.status().message(), HasSubstr("without its private key"));

  options.client_cert_file = "";
  options.client_key_file = Write("client.key", "-----BEGIN PRIVATE KEY-----\n");
  channel = Connect(options);
  ASSERT_FALSE(channel.ok());
  EXPECT_THAT(channel.status().message(), HasSubstr("without a client certificate"));
}

TEST_F(ConnectionTest, SetDeadline) {
  ConnectionOptions options;
  options.timeout = absl::Seconds(10);
  grpc::ClientContext context;
  absl::Time before = absl::Now();
  SetDeadline(options, &context);
  absl::Time deadline = absl::FromChrono(context.deadline());
  EXPECT_GE(deadline, before + absl::Seconds(10));
  EXPECT_LE(deadline, absl::Now() + absl::Seconds(10));

  options.timeout = absl::InfiniteDuration();
  grpc::ClientContext unlimited;
  SetDeadline(options, &unlimited);
  EXPECT_EQ(unlimited.deadline(), std::chrono::system_clock::time_point::max());
}

// mTLS end to end: certificates made with the openssl command, a TLS server
// that requires client certificates, and Connect() on the client side.
class MutualTlsTest : public ConnectionTest {
 protected:
  void SetUp() override {
    ConnectionTest::SetUp();
    if (std::system("openssl version >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "no openssl command to make test certificates";
    }
    Write("server.ext", "subjectAltName=DNS:ksef-hsm.test\nextendedKeyUsage=serverAuth\n");
    Write("client.ext", "extendedKeyUsage=clientAuth\n");
    std::string script = absl::StrCat(
        "set -e; cd '", dir_, "'\n",
        "newkey='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
        "openssl req -x509 $newkey -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca "
        "  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign\n"
        "for who in server client; do\n"
        "  openssl req $newkey -keyout $who.key -out $who.csr -subj /CN=$who\n"
        "  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "    -extfile $who.ext -out $who.pem\n"
        "done\n");
    ASSERT_EQ(std::system(absl::StrCat("(", script, ") >/dev/null 2>&1").c_str()), 0);

    grpc::SslServerCredentialsOptions tls(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    tls.pem_root_certs = *ReadWholeFile(dir_ + "/ca.pem", "ca");
    tls.pem_key_cert_pairs.push_back(
        {*ReadWholeFile(dir_ + "/server.key", "key"), *ReadWholeFile(dir_ + "/server.pem", "c")});
    server_ = std::make_unique<testing::FakeServer>(grpc::SslServerCredentials(tls));
  }

  ConnectionOptions GoodOptions() {
    ConnectionOptions options;
    options.server_address = server_->address();
    options.ca_cert_file = dir_ + "/ca.pem";
    options.client_cert_file = dir_ + "/client.pem";
    options.client_key_file = dir_ + "/client.key";
    options.server_name_override = "ksef-hsm.test";
    options.timeout = absl::Seconds(10);
    return options;
  }

  grpc::Status Check(const ConnectionOptions& options) {
    auto channel = Connect(options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    if (!channel.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
    auto stub = health::Health::NewStub(*channel);
    grpc::ClientContext context;
    SetDeadline(options, &context);
    health::HealthCheckResponse response;
    return stub->Check(&context, health::HealthCheckRequest(), &response);
  }

  std::unique_ptr<testing::FakeServer> server_;
};

TEST_F(MutualTlsTest, Works) {
  grpc::Status status = Check(GoodOptions());
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(MutualTlsTest, ServerRefusesClientWithoutCertificate) {
  ConnectionOptions options = GoodOptions();
  options.client_cert_file = "";
  options.client_key_file = "";
  EXPECT_EQ(Check(options).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MutualTlsTest, WrongServerNameIsRejected) {
  ConnectionOptions options = GoodOptions();
  options.server_name_override = "other.test";
  EXPECT_EQ(Check(options).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MutualTlsTest, PlaintextClientCannotTalkToTlsServer) {
  ConnectionOptions options = GoodOptions();
  options.plaintext = true;
  EXPECT_EQ(Check(options).error_code(), grpc::StatusCode::UNAVAILABLE);
}


// A KeyService that is UNAVAILABLE for the first `failures` calls of each
// method, counting every attempt it sees.
class FlakyKeyService final : public hsm::v1::KeyService::Service {
 public:
  explicit FlakyKeyService(int failures) : failures_(failures) {}
  grpc::Status GetKey(grpc::ServerContext*, const hsm::v1::GetKeyRequest*,
                      hsm::v1::Key* key) override {
    if (++get_attempts < failures_ + 1) return Unavailable();
    key->set_name("keys/k");
    return grpc::Status::OK;
  }
  grpc::Status DisableKey(grpc::ServerContext*, const hsm::v1::DisableKeyRequest*,
                          hsm::v1::Key*) override {
    ++disable_attempts;
    return Unavailable();
  }
  std::atomic<int> get_attempts{0}, disable_attempts{0};

 private:
  static grpc::Status Unavailable() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "replica going away");
  }
  const int failures_;
};

// Behind a balancer a replica may die between calls: a read is tried again,
// a change never (its answer may have been lost after it was made).
TEST(ConnectionRetryTest, ReadsAreRetriedWhileUnavailableAndChangesNever) {
  FlakyKeyService service(/*failures=*/2);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ConnectionOptions options;
  options.plaintext = true;
  options.server_address = absl::StrCat("127.0.0.1:", port);
  auto channel = Connect(options);
  ASSERT_TRUE(channel.ok()) << channel.status();
  auto stub = hsm::v1::KeyService::NewStub(*channel);

  grpc::ClientContext get_context;
  SetDeadline(options, &get_context);
  hsm::v1::Key key;
  grpc::Status got = stub->GetKey(&get_context, hsm::v1::GetKeyRequest(), &key);
  EXPECT_TRUE(got.ok()) << got.error_message();
  EXPECT_EQ(service.get_attempts.load(), 3);

  grpc::ClientContext disable_context;
  SetDeadline(options, &disable_context);
  grpc::Status disabled = stub->DisableKey(&disable_context, hsm::v1::DisableKeyRequest(), &key);
  EXPECT_EQ(disabled.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service.disable_attempts.load(), 1);
  server->Shutdown();
}

}  // namespace
}  // namespace ksef::client
