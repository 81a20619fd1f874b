// RunCli against an in-process fake KeyService over plaintext gRPC: what each
// command sends, prints, and exits with.
#include "client/cli/cli.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "client/cli/cli_test_util.h"
#include "client/file_util.h"
#include "client/testing/fake_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

using Result = testing::CliResult;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { server_.keys().AddKey(testing::FakeKeyService::MakeKey("acme-auth-1")); }

  // Runs ksef-hsm with the server address and --plaintext from the environment,
  // as a user with KSEF_HSM_* variables set would.
  Result Cli(std::vector<std::string> args) {
    return testing::RunCliWithEnv(args, testing::PlaintextEnv(server_.address()));
  }

  testing::FakeServer server_;
};

template <typename Message>
Message ParseJson(const std::string& json) {
  Message message;
  auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return message;
}

TEST_F(CliTest, GetKeyHumanOutput) {
  Result r = Cli({"get-key", "acme-auth-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(server_.keys().last_name(), "keys/acme-auth-1");
  EXPECT_THAT(r.err, IsEmpty());
  EXPECT_THAT(r.out, StartsWith("name:                  keys/acme-auth-1\n"
                                "state:                 active\n"
                                "purpose:               authentication\n"
                                "algorithm:             ec-p256\n"
                                "subject:               nip 5260250274\n"
                                "pkcs11_uri:            pkcs11:token=ksef;object=ksef-acme-auth-1;"
                                "type=private\n"
                                "create_time:           2025-01-01T12:00:00Z\n"));
  EXPECT_THAT(r.out, HasSubstr("attestation:           local=yes sensitive=yes extractable=no "
                               "always_sensitive=yes never_extractable=yes\n"));
  EXPECT_THAT(r.out, HasSubstr("certificate:\n  subject:             CN=acme-auth-1,O=Acme\n"));
  EXPECT_THAT(r.out, HasSubstr("  not_after:           2027-01-01T12:00:00Z\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("destroy_time")));
}

TEST_F(CliTest, NamesArePassedOnAsGiven) {
  ASSERT_EQ(Cli({"get-key", "keys/acme-auth-1"}).exit_status, 0);
  EXPECT_EQ(server_.keys().last_name(), "keys/acme-auth-1");
  std::string uri = "pkcs11:token=ksef;object=ksef-acme-auth-1;type=private";
  Result r = Cli({"get-key", uri});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(server_.keys().last_name(), uri);
}

TEST_F(CliTest, JsonOutputUsesProtoFieldNamesAndPrintsDefaults) {
  // --json after the command works as well as before it.
  Result r = Cli({"get-key", "acme-auth-1", "--json"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"pkcs11_uri\""));
  EXPECT_THAT(r.out, ContainsRegex("\"extractable\": false"));
  EXPECT_THAT(r.out, HasSubstr("\"state\": \"ACTIVE\""));
  v1::Key key = ParseJson<v1::Key>(r.out);
  EXPECT_EQ(key.name(), "keys/acme-auth-1");
  EXPECT_EQ(key.certificate().serial_number(), "0123456789ABCDEF");
}

TEST_F(CliTest, RpcErrorsAreOneLinePlusHint) {
  Result r = Cli({"get-key", "nope"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(r.err,
            "ksef-hsm: NOT_FOUND: key keys/nope not found\n"
            "hint: \"ksef-hsm list-keys\" shows the existing keys\n");

  r = Cli({"enable-key", "acme-auth-1"});  // ACTIVE -> enable: FAILED_PRECONDITION
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, StartsWith("ksef-hsm: FAILED_PRECONDITION: key keys/acme-auth-1 is not"));
}

TEST_F(CliTest, DeadlineExceeded) {
  Result r = Cli({"--timeout", "200ms", "get-key", "slow"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, StartsWith("ksef-hsm: DEADLINE_EXCEEDED"));
  EXPECT_THAT(r.err, HasSubstr("within 200ms; raise --timeout"));
}

TEST_F(CliTest, CreateKey) {
  Result r = Cli({"create-key", "--subject-type", "pesel", "--subject", "44051401359", "--purpose",
                  "offline", "--algorithm", "rsa-2048", "--key-id", "jan-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  v1::CreateKeyRequest request = server_.keys().last_create_request();
  EXPECT_EQ(request.key_id(), "jan-1");
  EXPECT_EQ(request.subject().type(), v1::KsefSubject::PESEL);
  EXPECT_EQ(request.subject().value(), "44051401359");
  EXPECT_EQ(request.purpose(), v1::OFFLINE);
  EXPECT_EQ(request.algorithm(), v1::RSA_2048);
  EXPECT_THAT(r.out, AllOf(HasSubstr("keys/jan-1"), HasSubstr("pending-certificate"),
                           ContainsRegex("certificate: +none\n")));

  // Defaults: EC P-256, generated ID; "keys/" is stripped from --key-id.
  r = Cli({"create-key", "--subject-type=nip", "--subject=5260250274", "--purpose=authentication"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(server_.keys().last_create_request().algorithm(), v1::EC_P256);
  EXPECT_EQ(server_.keys().last_create_request().key_id(), "");
  r = Cli({"create-key", "--subject-type=nip", "--subject=1", "--purpose=offline",
           "--key-id=keys/x-2"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(server_.keys().last_create_request().key_id(), "x-2");

  r = Cli({"create-key", "--subject-type=nip", "--subject=1", "--purpose=offline", "--key-id=x-2"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, StartsWith("ksef-hsm: ALREADY_EXISTS: "));
}

TEST_F(CliTest, SetUsageLimit) {
  Result r = Cli({"set-usage-limit", "acme-auth-1", "250"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("usage_limit:           250 signatures\n"));
  r = Cli({"set-usage-limit", "acme-auth-1", "0"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("usage_limit:           none\n"));
  r = Cli({"set-usage-limit", "acme-auth-1", "many"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("LIMIT"));
  r = Cli({"create-key", "--subject-type=nip", "--subject=5265877635", "--purpose=offline",
           "--usage-limit=ten"});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("--usage-limit"));
}

TEST_F(CliTest, LifecycleCommands) {
  Result r = Cli({"disable-key", "acme-auth-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("state:                 disabled\n"));

  r = Cli({"enable-key", "acme-auth-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("state:                 active\n"));

  r = Cli({"schedule-destruction", "acme-auth-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("state:                 scheduled-for-destruction\n"));
  EXPECT_THAT(r.out, HasSubstr("destroy_time:          2025-01-02T12:00:00Z\n"));

  r = Cli({"restore-key", "keys/acme-auth-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("state:                 disabled\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("destroy_time")));
}

TEST_F(CliTest, ListKeysSendsFilters) {
  Result r = Cli({"list-keys", "--subject-type", "nip", "--subject", "5260250274", "--purpose",
                  "authentication", "--state", "active", "--page-size", "7", "--page-token", "0"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  ASSERT_EQ(server_.keys().list_requests().size(), 1u);
  v1::ListKeysRequest request = server_.keys().list_requests()[0];
  EXPECT_EQ(request.subject().type(), v1::KsefSubject::NIP);
  EXPECT_EQ(request.subject().value(), "5260250274");
  EXPECT_EQ(request.purpose(), v1::AUTHENTICATION);
  EXPECT_EQ(request.state(), v1::ACTIVE);
  EXPECT_EQ(request.page_size(), 7);
  EXPECT_EQ(request.page_token(), "0");
  EXPECT_EQ(r.out,
            "NAME              STATE   PURPOSE         ALGORITHM  SUBJECT         CREATED\n"
            "keys/acme-auth-1  active  authentication  ec-p256    nip 5260250274  "
            "2025-01-01T12:00:00Z\n"
            "\n"
            "1 of 1 matching key(s) shown\n");
}

TEST_F(CliTest, ListKeysPagesAndAll) {
  for (const char* id : {"b", "c", "d", "e"}) {
    server_.keys().AddKey(testing::FakeKeyService::MakeKey(id));
  }
  Result r = Cli({"list-keys", "--page-size", "2"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 of 5 matching key(s) shown\n"
                               "more: add --page-token 2 (same filters), or use --all\n"));

  r = Cli({"list-keys", "--page-size", "2", "--all"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(server_.keys().list_requests().size(), 4u);  // 1 + 3 pages
  for (const char* name : {"keys/acme-auth-1", "keys/b", "keys/c", "keys/d", "keys/e"}) {
    EXPECT_THAT(r.out, HasSubstr(name));
  }
  EXPECT_THAT(r.out, Not(HasSubstr("more:")));

  // --json --all: one document holding every key.
  r = Cli({"--json", "list-keys", "--page-size", "2", "--all"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  auto response = ParseJson<v1::ListKeysResponse>(r.out);
  EXPECT_EQ(response.keys_size(), 5);
  EXPECT_EQ(response.total_size(), 5);
  EXPECT_EQ(response.next_page_token(), "");
  EXPECT_THAT(r.out, HasSubstr("\"next_page_token\": \"\""));
}

TEST_F(CliTest, ListKeysEmpty) {
  Result r = Cli({"list-keys", "--state", "destroyed"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "no keys\n");
}

TEST_F(CliTest, PublicKey) {
  Result r = Cli({"public-key", "acme-auth-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "-----BEGIN PUBLIC KEY-----\nMFkwEwD/\n-----END PUBLIC KEY-----\n");

  std::string path = ::testing::TempDir() + "/cli_test_public_key.der";
  r = Cli({"public-key", "acme-auth-1", "--der-out", path});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(*ReadWholeFile(path, "der"), std::string("\x30\x59\x30\x13\x00\xff", 6));
  EXPECT_THAT(r.out, StartsWith("wrote 6 bytes (SubjectPublicKeyInfo DER) to " + path));
  std::remove(path.c_str());

  r = Cli({"public-key", "acme-auth-1", "--der-out", "/nonexistent/dir/k.der"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot write public key file /nonexistent/dir/k.der"));

  r = Cli({"--json", "public-key", "acme-auth-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(ParseJson<v1::PublicKey>(r.out).der(), std::string("\x30\x59\x30\x13\x00\xff", 6));
}

TEST_F(CliTest, CheckConsistency) {
  Result r = Cli({"check-consistency"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("result:              consistent\n"));

  v1::ConsistencyReport report;
  report.set_checked_keys(3);
  report.add_unknown_token_keys("pkcs11:token=ksef;id=%99;type=private");
  report.add_missing_keys("keys/gone");
  server_.keys().SetConsistencyReport(report);
  r = Cli({"check-consistency"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_EQ(r.out,
            "checked_keys:        3\n"
            "unknown_token_keys:  1\n"
            "  - pkcs11:token=ksef;id=%99;type=private\n"
            "missing_keys:        1\n"
            "  - keys/gone\n"
            "result:              INCONSISTENT\n");

  r = Cli({"--json", "check-consistency"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_EQ(ParseJson<v1::ConsistencyReport>(r.out).checked_keys(), 3);

  // A foreign key with the audit key's label alone makes the report fail.
  v1::ConsistencyReport foreign;
  foreign.set_checked_keys(1);
  foreign.add_foreign_internal_label_keys("pkcs11:token=ksef;id=%42;object=ksef-hsm-audit");
  server_.keys().SetConsistencyReport(foreign);
  r = Cli({"check-consistency"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_EQ(r.out,
            "checked_keys:                 1\n"
            "unknown_token_keys:           0\n"
            "missing_keys:                 0\n"
            "foreign_internal_label_keys:  1 (label reserved for the server's own keys; not used "
            "by it)\n"
            "  - pkcs11:token=ksef;id=%42;object=ksef-hsm-audit\n"
            "result:                       INCONSISTENT\n");
  r = Cli({"--json", "check-consistency"});
  EXPECT_EQ(ParseJson<v1::ConsistencyReport>(r.out).foreign_internal_label_keys_size(), 1);
}

TEST_F(CliTest, Health) {
  Result r = Cli({"health"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");

  r = Cli({"health", "--service", "ksef.hsm.v1.KeyService", "--json"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"status\": \"SERVING\""));

  server_.health().SetStatus(grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  r = Cli({"health"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_EQ(r.out, "NOT_SERVING\n");

  r = Cli({"health", "--service", "no.such.Service"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
  EXPECT_THAT(r.err, HasSubstr("leave out --service"));
}

TEST_F(CliTest, FlagsBeatEnvironment) {
  // KSEF_HSM_SERVER points at the fake; --server sends us elsewhere.
  Result r = Cli({"--server", "127.0.0.1:1", "--timeout", "5s", "health"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, HasSubstr("running at 127.0.0.1:1?"));

  // --plaintext=false beats KSEF_HSM_PLAINTEXT=true: TLS to a plaintext server fails.
  r = Cli({"--plaintext=false", "--timeout", "5s", "health"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, StartsWith("ksef-hsm: UNAVAILABLE"));
}

}  // namespace
}  // namespace ksef::client
