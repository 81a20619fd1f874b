// End-to-end access control, audit and KSeF authentication signing: the real
// ksef-hsmd on SoftHSM2 over mTLS, callers with different client
// certificates, a policy file reloaded with SIGHUP, SIGKILL during a signing
// load, and signed AuthTokenRequests checked with xmlsec1.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/connection.h"
#include "formats/cert/certificate_info.h"
#include "formats/cert/test_ca.h"
#include "ksef/hsm/v1/audit_service.grpc.pb.h"
#include "ksef/hsm/v1/auth_service.grpc.pb.h"
#include "ksef/hsm/v1/enrollment_service.grpc.pb.h"
#include "ksef/hsm/v1/key_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/postgres_test_db.h"
#include "tests/support/xmlsec.h"
#include "tests/support/server_process.h"
#include "tests/support/softhsm_token.h"
#include "tests/e2e/e2e_fixture.h"

namespace ksef {
namespace {

namespace pb = ::ksef::hsm::v1;
using ::ksef::testing::RunCommand;
using ::ksef::testing::ServerProcess;

using AccessAuditE2eTest = E2eFixture;

TEST_F(AccessAuditE2eTest, EveryRpcLeavesExactlyOneEventAllowedOrDenied) {
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Caller cli = Connect((*server)->port(), "client");
  ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
  const size_t before = Events(cli).size();  // the ListAuditEvents call itself adds one

  // One call of every RPC (some fail, some are denied), counted.
  int calls = 0;
  auto count = [&](const grpc::Status&) { ++calls; };
  pb::Key key;
  count(Call([&](auto* ctx) {
    return cli.keys->CreateKey(ctx, KeyRequest("off-a", kNipA, pb::OFFLINE), &key);
  }));
  pb::GetKeyRequest get;
  get.set_name("keys/off-a");
  count(Call([&](auto* ctx) { return cli.keys->GetKey(ctx, get, &key); }));
  get.set_name("keys/missing");
  count(Call([&](auto* ctx) { return cli.keys->GetKey(ctx, get, &key); }));  // NOT_FOUND
  pb::ListKeysRequest list;
  pb::ListKeysResponse listed;
  count(Call([&](auto* ctx) { return cli.keys->ListKeys(ctx, list, &listed); }));
  pb::GetPublicKeyRequest pub_req;
  pub_req.set_name("keys/off-a");
  pb::PublicKey pub;
  count(Call([&](auto* ctx) { return cli.keys->GetPublicKey(ctx, pub_req, &pub); }));
  pb::DisableKeyRequest dis;
  dis.set_name("keys/off-a");
  count(Call([&](auto* ctx) { return cli.keys->DisableKey(ctx, dis, &key); }));
  pb::EnableKeyRequest en;
  en.set_name("keys/off-a");
  count(Call([&](auto* ctx) { return cli.keys->EnableKey(ctx, en, &key); }));
  pb::ScheduleKeyDestructionRequest sched;
  sched.set_name("keys/off-a");
  count(Call([&](auto* ctx) { return cli.keys->ScheduleKeyDestruction(ctx, sched, &key); }));
  pb::RestoreKeyRequest restore;
  restore.set_name("keys/off-a");
  count(Call([&](auto* ctx) { return cli.keys->RestoreKey(ctx, restore, &key); }));
  pb::SetKeyUsageLimitRequest limit_req;
  limit_req.set_name("keys/off-a");
  limit_req.set_usage_limit(100);
  count(Call([&](auto* ctx) { return cli.keys->SetKeyUsageLimit(ctx, limit_req, &key); }));
  EXPECT_EQ(key.usage_limit(), 100);
  pb::CheckConsistencyRequest cc;
  pb::ConsistencyReport report;
  count(Call([&](auto* ctx) { return cli.keys->CheckConsistency(ctx, cc, &report); }));
  EXPECT_EQ(report.unknown_token_keys_size(), 0) << "the audit key must not show as unknown";
  pb::GenerateCsrRequest csr_req;
  csr_req.set_name("keys/off-a");
  csr_req.set_enrollment_data_json("{not json");
  pb::GenerateCsrResponse csr;
  count(Call([&](auto* ctx) { return cli.enroll->GenerateCsr(ctx, csr_req, &csr); }));
  pb::ImportCertificateRequest imp;
  imp.set_name("keys/off-a");
  imp.set_certificate("garbage");
  count(Call([&](auto* ctx) { return cli.enroll->ImportCertificate(ctx, imp, &key); }));
  pb::IssueSelfSignedCertificateRequest ss;
  ss.set_name("keys/off-a");
  count(Call([&](auto* ctx) { return cli.enroll->IssueSelfSignedCertificate(ctx, ss, &key); }));
  pb::ImportKeyRequest ik;
  count(Call([&](auto* ctx) { return cli.enroll->ImportKey(ctx, ik, &key); }));
  pb::GetKeyUsageRequest usage_req;
  pb::GetKeyUsageResponse usage;
  count(Call([&](auto* ctx) { return cli.audit->GetKeyUsage(ctx, usage_req, &usage); }));
  pb::VerifyAuditLogRequest verify_req;
  pb::VerifyAuditLogResponse verify;
  count(Call([&](auto* ctx) { return cli.audit->VerifyAuditLog(ctx, verify_req, &verify); }));
  EXPECT_TRUE(verify.ok()) << verify.problem();
  pb::GetAuditPublicKeyRequest apk_req;
  pb::AuditPublicKey apk;
  count(Call([&](auto* ctx) { return cli.audit->GetAuditPublicKey(ctx, apk_req, &apk); }));
  pb::SignedAuthToken signed_token;
  count(Call([&](auto* ctx) {
    return cli.auth->SignAuthToken(ctx, AuthRequest("keys/auth-a"), &signed_token);
  }));
  pb::SignOfflineInvoiceRequest offline_req;
  offline_req.set_name("keys/auth-a");  // an Authentication key: FAILED_PRECONDITION
  offline_req.mutable_context_identifier()->set_nip(kNipA);
  offline_req.mutable_invoice_data()->set_seller_nip(kNipA);
  offline_req.mutable_invoice_data()->set_issue_date("2026-02-01");
  offline_req.mutable_invoice_data()->set_invoice_sha256(std::string(32, 'x'));
  pb::OfflineInvoiceCodes offline_codes;
  count(Call([&](auto* ctx) {
    return cli.offline->SignOfflineInvoice(ctx, offline_req, &offline_codes);
  }));
  {
    grpc::ClientContext ctx;
    auto stream = cli.offline->SignOfflineInvoices(&ctx);
    ASSERT_TRUE(stream->Write(offline_req));
    stream->WritesDone();
    pb::OfflineInvoiceResult result;
    while (stream->Read(&result)) {
    }
    count(stream->Finish());  // one invoice in the stream: one event
  }
  // Denied calls count too.
  Caller mallory = Connect((*server)->port(), "mallory");
  count(Call([&](auto* ctx) { return mallory.keys->GetKey(ctx, get, &key); }));

  const std::vector<pb::AuditEvent> after = Events(cli);
  // +1 for the first Events() call's own ListAuditEvents event.
  EXPECT_EQ(after.size(), before + 1 + calls);
  std::set<std::string> operations;
  // From the first Events() call's own ListAuditEvents event on.
  for (size_t i = before; i < after.size(); ++i) operations.insert(after[i].operation());
  EXPECT_EQ(operations.size(), 21u) << "every RPC of the five services appears";
  EXPECT_EQ(after.back().outcome(), pb::DENIED);
  EXPECT_EQ(after.back().caller().subject(), "CN=mallory");
  const pb::AuditEvent& signing = after[after.size() - 4];  // before the two offline calls
  EXPECT_EQ(signing.operation(), "SignAuthToken");
  EXPECT_EQ(signing.outcome(), pb::SUCCESS);
  EXPECT_EQ(signing.signed_sha256(), signed_token.signed_info_sha256());
  EXPECT_EQ(signing.context(), absl::StrCat("Nip:", kNipA));
  EXPECT_EQ(signing.caller().identity(), "cli");
  EXPECT_EQ(signing.subject(), absl::StrCat("nip:", kNipA));
  EXPECT_FALSE(signing.key_public_key_sha256().empty());
}

TEST_F(AccessAuditE2eTest, CallersGetOnlyWhatThePolicyGrants) {
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  Caller cli = Connect(port, "client");
  Caller alice = Connect(port, "alice");
  Caller mallory = Connect(port, "mallory");
  Caller anonymous = Connect(port, "");
  pb::Key key;

  grpc::Status s = Call([&](auto* ctx) {
    return anonymous.keys->CreateKey(ctx, KeyRequest("anon", kNipA, pb::AUTHENTICATION), &key);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  s = Call([&](auto* ctx) {
    return mallory.keys->CreateKey(ctx, KeyRequest("mal", kNipA, pb::AUTHENTICATION), &key);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "key-admin")) << s.error_message();
  s = Call([&](auto* ctx) {
    return alice.keys->CreateKey(ctx, KeyRequest("alice-a", kNipA, pb::AUTHENTICATION), &key);
  });
  EXPECT_TRUE(s.ok()) << s.error_message();
  // A grant for subject A does not reach subject B, neither new keys nor existing ones.
  s = Call([&](auto* ctx) {
    return alice.keys->CreateKey(ctx, KeyRequest("alice-b", kNipB, pb::AUTHENTICATION), &key);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  ActiveKey(cli, "cli-b", kNipB, pb::AUTHENTICATION);
  pb::GetKeyRequest get;
  get.set_name("keys/cli-b");
  s = Call([&](auto* ctx) { return alice.keys->GetKey(ctx, get, &key); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  pb::SignedAuthToken signed_token;
  s = Call([&](auto* ctx) {
    return alice.auth->SignAuthToken(ctx, AuthRequest("keys/cli-b"), &signed_token);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  // Alice cannot read the audit log; denials are recorded with who asked.
  pb::ListAuditEventsRequest lreq;
  pb::ListAuditEventsResponse lresp;
  s = Call([&](auto* ctx) { return alice.audit->ListAuditEvents(ctx, lreq, &lresp); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  int denied_anonymous = 0, denied_mallory = 0, denied_alice = 0;
  for (const pb::AuditEvent& e : Events(cli)) {
    if (e.outcome() != pb::DENIED) continue;
    if (e.caller().subject().empty()) ++denied_anonymous;
    if (e.caller().subject() == "CN=mallory") ++denied_mallory;
    if (e.caller().subject() == "CN=alice") ++denied_alice;
  }
  EXPECT_EQ(denied_anonymous, 1);
  EXPECT_EQ(denied_mallory, 1);
  EXPECT_EQ(denied_alice, 4);

  // SIGHUP reload: a grant for mallory takes effect without a restart ...
  WritePolicy("identity mallory subject=\"CN=mallory\"\ngrant mallory key-admin *\n");
  ASSERT_EQ(kill((*server)->pid(), SIGHUP), 0);
  bool allowed = false;
  for (int i = 0; i < 50 && !allowed; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    allowed = Call([&](auto* ctx) { return mallory.keys->GetKey(ctx, get, &key); }).ok();
  }
  EXPECT_TRUE(allowed) << (*server)->Log();
  // ... and a broken policy file is refused, leaving that policy in force.
  std::ofstream(dir_ + "/policy.conf") << "grant nobody everything\n";
  ASSERT_EQ(kill((*server)->pid(), SIGHUP), 0);
  for (int i = 0; i < 50 && !absl::StrContains((*server)->Log(), "policy reload failed"); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(absl::StrContains((*server)->Log(), "policy.conf:1:")) << (*server)->Log();
  EXPECT_TRUE(Call([&](auto* ctx) { return mallory.keys->GetKey(ctx, get, &key); }).ok());
}

TEST_F(AccessAuditE2eTest, AuthTokenSignedInTheTokenVerifiesWithXmlsec1) {
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Caller cli = Connect((*server)->port(), "client");
  ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
  pb::SignAuthTokenRequest req = AuthRequest("");
  req.mutable_subject()->set_type(pb::KsefSubject::NIP);  // the subject's active key
  req.mutable_subject()->set_value(kNipA);
  req.mutable_allowed_ips()->add_ip4_addresses("10.0.0.1");
  pb::SignedAuthToken resp;
  grpc::Status s = Call([&](auto* ctx) { return cli.auth->SignAuthToken(ctx, req, &resp); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.name(), "keys/auth-a");
  EXPECT_EQ(resp.certificate_serial_number().size(), 16u);
  pb::GetKeyRequest get;
  get.set_name("keys/auth-a");
  pb::Key key;
  ASSERT_TRUE(Call([&](auto* ctx) { return cli.keys->GetKey(ctx, get, &key); }).ok());
  std::string out;
  EXPECT_EQ(ksef::testing::XmlsecVerify(resp.xml(), key.certificate().der(), &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "OK")) << out;
}

TEST_F(AccessAuditE2eTest, AuthSigningRefusesOfflineUncertifiedAndExpiredKeys) {
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Caller cli = Connect((*server)->port(), "client");
  ActiveKey(cli, "off-a", kNipA, pb::OFFLINE);
  ActiveKey(cli, "short-a", kNipA, pb::AUTHENTICATION, absl::Seconds(2));
  pb::Key key;
  ASSERT_TRUE(Call([&](auto* ctx) {
                return cli.keys->CreateKey(ctx, KeyRequest("pending-a", kNipA, pb::AUTHENTICATION),
                                           &key);
              }).ok());
  absl::SleepFor(absl::Seconds(3));  // short-a's certificate expires
  for (const char* name : {"keys/off-a", "keys/pending-a", "keys/short-a"}) {
    pb::SignedAuthToken resp;
    grpc::Status s =
        Call([&](auto* ctx) { return cli.auth->SignAuthToken(ctx, AuthRequest(name), &resp); });
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << name << ": " << s.error_message();
  }
  pb::SignAuthTokenRequest bad = AuthRequest("keys/off-a");
  bad.mutable_context_identifier()->set_nip("5265877636");  // wrong check digit
  pb::SignedAuthToken resp;
  grpc::Status s = Call([&](auto* ctx) { return cli.auth->SignAuthToken(ctx, bad, &resp); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "nip")) << s.error_message();
}

TEST_F(AccessAuditE2eTest, UsageLimitStopsSigningAndSurvivesRestart) {
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  auto sign = [&](Caller& c) { return SignAuth(c, "keys/ltd"); };
  {
    Caller cli = Connect((*server)->port(), "client");
    // The CSR of the enrollment is the first use of three.
    ActiveKey(cli, "ltd", kNipA, pb::AUTHENTICATION, absl::Hours(24), /*usage_limit=*/3);
    EXPECT_TRUE(sign(cli).ok());
    EXPECT_TRUE(sign(cli).ok());
    grpc::Status refused = sign(cli);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_TRUE(absl::StrContains(refused.error_message(), "usage limit"))
        << refused.error_message();
    pb::SetKeyUsageLimitRequest raise;
    raise.set_name("keys/ltd");
    raise.set_usage_limit(5);
    pb::Key key;
    ASSERT_TRUE(
        Call([&](auto* ctx) { return cli.keys->SetKeyUsageLimit(ctx, raise, &key); }).ok());
    EXPECT_TRUE(sign(cli).ok());  // use 4
  }
  ASSERT_EQ((*server)->Stop(SIGTERM), 0);
  // After a restart the count comes back from the audit log.
  auto again = ServerProcess::Start(config_, dir_ + "/server2.log");
  ASSERT_TRUE(again.ok()) << again.status();
  Caller cli = Connect((*again)->port(), "client");
  EXPECT_TRUE(sign(cli).ok());  // use 5
  EXPECT_EQ(sign(cli).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AccessAuditE2eTest, PostgresAuditStoreRecordsAndVerifiesAcrossRestarts) {
  auto db = ksef::testing::TestPostgresDb::Create("ksef_e2e");
  ASSERT_TRUE(db.ok()) << db.status();
  std::ofstream(config_, std::ios::app) << "audit_store = postgres\n"
                                        << "audit_postgres = \"" << (*db)->conninfo() << "\"\n";
  int64_t events_before_restart = 0;
  {
    auto server = ServerProcess::Start(config_, dir_ + "/server.log");
    ASSERT_TRUE(server.ok()) << server.status();
    Caller cli = Connect((*server)->port(), "client");
    ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
    pb::SignedAuthToken resp;
    ASSERT_TRUE(Call([&](auto* ctx) {
                  return cli.auth->SignAuthToken(ctx, AuthRequest("keys/auth-a"), &resp);
                }).ok());
    events_before_restart = static_cast<int64_t>(Events(cli, "SignAuthToken").size());
    EXPECT_EQ(events_before_restart, 1);
    ASSERT_EQ((*server)->Stop(SIGTERM), 0) << (*server)->Log();
    EXPECT_TRUE(absl::StrContains((*server)->Log(), "audit log in PostgreSQL"));
  }
  auto server = ServerProcess::Start(config_, dir_ + "/server2.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Caller cli = Connect((*server)->port(), "client");
  pb::SignedAuthToken resp;
  ASSERT_TRUE(Call([&](auto* ctx) {
                return cli.auth->SignAuthToken(ctx, AuthRequest("keys/auth-a"), &resp);
              }).ok());
  EXPECT_EQ(Events(cli, "SignAuthToken").size(), 2u);
  pb::VerifyAuditLogRequest vreq;
  pb::VerifyAuditLogResponse vresp;
  ASSERT_TRUE(Call([&](auto* ctx) { return cli.audit->VerifyAuditLog(ctx, vreq, &vresp); }).ok());
  EXPECT_TRUE(vresp.ok()) << vresp.problem();
  ASSERT_EQ(vresp.chains_size(), 1);
  EXPECT_EQ(vresp.chains(0).node(), "e2e-node");
  EXPECT_GE(vresp.chains(0).last_checkpoint_seq(), 1);  // the shutdown checkpoint
}

// A PostgreSQL server of this test alone, so it can be stopped.
class PrivatePostgres {
 public:
  explicit PrivatePostgres(std::string dir) : dir_(std::move(dir)) {}
  ~PrivatePostgres() { Stop(); }
  // The conninfo of the running cluster, or "" on failure (output in `log`).
  std::string Start(std::string* log) {
    const char* src = std::getenv("KSEF_SOURCE_DIR");
    std::string out;
    int rc = RunCommand(absl::StrCat("KSEF_PG_PORT=54339 bash ", src,
                                     "/scripts/pg-test-server.sh start ", dir_),
                        &out);
    *log = out;
    if (rc != 0) return "";
    // The script prints: export KSEF_TEST_PG='<conninfo>'
    const size_t a = out.find("KSEF_TEST_PG='");
    if (a == std::string::npos) return "";
    const size_t b = out.find('\'', a + 14);
    return out.substr(a + 14, b - a - 14);
  }
  void Stop() {
    const char* src = std::getenv("KSEF_SOURCE_DIR");
    RunCommand(absl::StrCat("KSEF_PG_PORT=54339 bash ", src, "/scripts/pg-test-server.sh stop ",
                            dir_));
  }

 private:
  std::string dir_;
};

TEST_F(AccessAuditE2eTest, AuditStoreOutageStopsSigningAndHealthUntilItIsBack) {
  PrivatePostgres pg(dir_ + "/pg");
  std::string log;
  const std::string conninfo = pg.Start(&log);
  ASSERT_FALSE(conninfo.empty()) << log;
  std::ofstream(config_, std::ios::app) << "audit_store = postgres\n"
                                        << "audit_postgres = \"" << conninfo << "\"\n"
                                        << "token_check_interval = 200ms\n";
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Caller cli = Connect((*server)->port(), "client");
  ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
  auto serving = [&] { return Serving(cli); };
  auto sign = [&] { return SignAuth(cli, "keys/auth-a"); };
  ASSERT_TRUE(sign().ok());
  EXPECT_TRUE(serving());

  pg.Stop();
  grpc::Status refused = sign();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "audit")) << refused.error_message();
  const bool down = WaitForServing(cli, false, 50);
  EXPECT_TRUE(down) << "health must report NOT_SERVING while the audit store cannot write";
  // Still refused while down, whatever the call.
  EXPECT_EQ(sign().error_code(), grpc::StatusCode::UNAVAILABLE);

  ASSERT_FALSE(pg.Start(&log).empty()) << log;
  const bool up = WaitForServing(cli, true, 150);  // the audit log probes every 5 s
  EXPECT_TRUE(up) << (*server)->Log();
  EXPECT_TRUE(sign().ok());
  pb::VerifyAuditLogRequest vreq;
  pb::VerifyAuditLogResponse vresp;
  ASSERT_TRUE(Call([&](auto* ctx) { return cli.audit->VerifyAuditLog(ctx, vreq, &vresp); }).ok());
  EXPECT_TRUE(vresp.ok()) << vresp.problem();
}

TEST_F(AccessAuditE2eTest, TokenOutageMakesSigningUnavailableAndHealthNotServingUntilBack) {
  // The server talks to SoftHSM2 through a module that fails while a file exists.
  const char* build = std::getenv("KSEF_BUILD_DIR");
  ASSERT_NE(build, nullptr) << "run through ctest (KSEF_BUILD_DIR)";
  const std::string outage = dir_ + "/token-outage";
  setenv("KSEF_FAULT_PKCS11_MODULE", ksef::testing::TestToken::ModulePath().c_str(), 1);
  setenv("KSEF_FAULT_PKCS11_FILE", outage.c_str(), 1);
  std::string conf;
  {
    std::ifstream in(config_);
    std::string line;
    while (std::getline(in, line)) {
      if (absl::StartsWith(line, "pkcs11_module")) {
        line = absl::StrCat("pkcs11_module = ", build, "/tests/libksef_fault_pkcs11.so");
      }
      absl::StrAppend(&conf, line, "\n");
    }
  }
  const std::string fault_config = dir_ + "/fault.conf";
  std::ofstream(fault_config) << conf << "token_check_interval = 200ms\n";
  auto server = ServerProcess::Start(fault_config, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  Caller cli = Connect((*server)->port(), "client");
  ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
  auto serving = [&] { return Serving(cli); };
  auto sign = [&] { return SignAuth(cli, "keys/auth-a"); };
  ASSERT_TRUE(sign().ok());
  ASSERT_TRUE(serving());

  std::ofstream(outage) << "down\n";
  grpc::Status refused = sign();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  const bool down = WaitForServing(cli, false, 50);
  EXPECT_TRUE(down) << "health must report NOT_SERVING while the token is unusable";
  EXPECT_EQ(sign().error_code(), grpc::StatusCode::UNAVAILABLE);

  std::remove(outage.c_str());
  const bool up = WaitForServing(cli, true, 200);  // reconnects back off up to a few seconds
  EXPECT_TRUE(up) << (*server)->Log();
  grpc::Status again = sign();
  EXPECT_TRUE(again.ok()) << again.error_message();
  EXPECT_TRUE(absl::StrContains((*server)->Log(), "reconnected and logged in")) << (*server)->Log();
  // The refused signatures are on record as failures, not as signatures
  // (aggregated per second: an outage under load must not flood the log).
  // Aggregated counts are written when their window (1 s) is over.
  std::vector<pb::AuditEvent> events;
  int64_t calls = 0;
  for (int i = 0; i < 50 && calls < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    events = Events(cli, "SignAuthToken");
    calls = 0;
    for (const pb::AuditEvent& e : events) calls += std::max<int64_t>(1, e.count());
  }
  EXPECT_EQ(calls, 4) << "one event (or count) per call: 2 signed, 2 unavailable";
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[1].outcome(), pb::FAILURE);
  EXPECT_EQ(events[1].status_code(), static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(events[1].signed_sha256().empty());
}

TEST_F(AccessAuditE2eTest, SigkillDuringSigningLosesNoEventOfADeliveredSignature) {
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  {
    Caller cli = Connect((*server)->port(), "client");
    ActiveKey(cli, "auth-a", kNipA, pb::AUTHENTICATION);
  }
  std::mutex mu;
  std::set<std::string> delivered;  // signed_info_sha256 of every signature received
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const int port = (*server)->port();
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      Caller c = Connect(port, "client");
      while (!stop) {
        pb::SignedAuthToken resp;
        grpc::Status s = Call(
            [&](auto* ctx) { return c.auth->SignAuthToken(ctx, AuthRequest("keys/auth-a"), &resp); });
        if (!s.ok()) break;
        std::lock_guard<std::mutex> lock(mu);
        delivered.insert(resp.signed_info_sha256());
      }
    });
  }
  absl::SleepFor(absl::Seconds(2));
  (*server)->Stop(SIGKILL);
  stop = true;
  for (auto& th : threads) th.join();
  ASSERT_GT(delivered.size(), 10u);

  auto restarted = ServerProcess::Start(config_, dir_ + "/server2.log");
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  Caller cli = Connect((*restarted)->port(), "client");
  std::set<std::string> recorded;
  for (const pb::AuditEvent& e : Events(cli, "SignAuthToken")) {
    if (e.outcome() == pb::SUCCESS) recorded.insert(e.signed_sha256());
  }
  for (const std::string& d : delivered) {
    EXPECT_TRUE(recorded.contains(d)) << "signature " << d << " was delivered without its event";
  }
  pb::VerifyAuditLogRequest vreq;
  pb::VerifyAuditLogResponse vresp;
  ASSERT_TRUE(Call([&](auto* ctx) { return cli.audit->VerifyAuditLog(ctx, vreq, &vresp); }).ok());
  EXPECT_TRUE(vresp.ok()) << vresp.problem();
}

}  // namespace
}  // namespace ksef
