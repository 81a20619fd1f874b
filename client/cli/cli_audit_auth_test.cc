// RunCli against the in-process fakes: "audit list|usage|verify|public-key"
// and "auth-sign"; "audit verify --db" on a real SQLite audit store written by
// audit::AuditLog, without any server.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/anchor.h"
#include "audit/audit_log.h"
#include "audit/sqlite_audit_store.h"
#include "client/cli/cli.h"
#include "client/cli/cli_test_util.h"
#include "client/file_util.h"
#include "client/testing/fake_server.h"
#include "common/ecdsa.h"
#include "common/openssl_ptr.h"
#include "common/sqlite.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ksef::client {
namespace {

namespace v1 = ::ksef::hsm::v1;
using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using FakeAuth = testing::FakeAuthService;

using Result = testing::CliResult;

// A software EC P-256 key: the audit key's stand-in for checkpoints.
class EcKey {
 public:
  EcKey() : key_(EVP_EC_gen("P-256")) {
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(key_.get(), &der);
    spki_.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }

  audit::CheckpointSigner signer() {
    return audit::CheckpointSigner{
        spki_, [this](const std::string& digest) -> absl::StatusOr<std::string> {
          EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
          if (EVP_PKEY_sign_init(ctx.get()) != 1) return absl::InternalError("sign_init");
          size_t len = 0;
          auto* d = reinterpret_cast<const unsigned char*>(digest.data());
          if (EVP_PKEY_sign(ctx.get(), nullptr, &len, d, digest.size()) != 1) {
            return absl::InternalError("sign size");
          }
          std::string der(len, '\0');
          if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len, d,
                            digest.size()) != 1) {
            return absl::InternalError("sign");
          }
          der.resize(len);
          return EcdsaDerToRaw(der);
        }};
  }

  const std::string& spki() const { return spki_; }

  std::string pem() const {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PUBKEY(bio.get(), key_.get());
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(len));
  }

 private:
  EvpPkeyPtr key_;
  std::string spki_;
};

class CliAuditAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/cli_audit_auth_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result Cli(std::vector<std::string> args) {
    return testing::RunCliWithEnv(args, testing::PlaintextEnv(server_.address()));
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string File(const std::string& name, const std::string& content) {
    std::string path = Path(name);
    EXPECT_TRUE(WriteWholeFile(path, content, "test file").ok());
    return path;
  }

  static std::string Read(const std::string& path) {
    absl::StatusOr<std::string> content = ReadWholeFile(path, "test file");
    EXPECT_TRUE(content.ok()) << content.status();
    return content.value_or("");
  }

  testing::FakeServer server_;
  std::string dir_;
};

v1::AuditEvent Event(const std::string& node, int64_t seq, v1::AuditOutcome outcome) {
  v1::AuditEvent e;
  e.set_node(node);
  e.set_seq(seq);
  e.mutable_time()->set_seconds(1751371200 + seq);  // 2025-07-01T12:00:00Z + seq s
  e.mutable_caller()->set_subject("CN=billing,O=Acme");
  e.mutable_caller()->set_identity("billing-svc");
  e.set_operation("SignAuthToken");
  e.set_key_name("keys/acme-auth-1");
  e.set_subject("nip:5260250274");
  e.set_signed_sha256("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789");
  e.set_outcome(outcome);
  return e;
}

// --- audit list ------------------------------------------------------------

TEST_F(CliAuditAuthTest, AuditListMapsEveryFilterAndPrintsEvents) {
  v1::ListAuditEventsResponse page;
  *page.add_events() = Event("node-a", 7, v1::SUCCESS);
  v1::AuditEvent denied = Event("node-b", 12, v1::DENIED);
  denied.mutable_caller()->clear_identity();  // shown by its certificate subject
  denied.set_status_code(7);
  denied.set_message("not allowed\nto sign");
  denied.clear_signed_sha256();
  *page.add_events() = denied;
  server_.audit().SetPage("tok-1", page);

  Result r = Cli({"audit",        "list",
                  "--since",      "2025-07-01T02:00:00+02:00",
                  "--until",      "2025-07-02T00:00:00.5Z",
                  "--caller",     "billing-svc",
                  "--key",        "acme-auth-1",
                  "--subject",    "NIP:5260250274",
                  "--operation",  "SignAuthToken",
                  "--outcome",    "Denied",
                  "--page-size",  "50",
                  "--page-token", "tok-1"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  std::vector<v1::ListAuditEventsRequest> requests = server_.audit().list_requests();
  ASSERT_EQ(requests.size(), 1u);
  const v1::ListAuditEventsRequest& q = requests[0];
  EXPECT_EQ(q.start_time().seconds(), 1751328000);
  EXPECT_EQ(q.start_time().nanos(), 0);
  EXPECT_EQ(q.end_time().seconds(), 1751414400);
  EXPECT_EQ(q.end_time().nanos(), 500000000);
  EXPECT_EQ(q.caller(), "billing-svc");
  EXPECT_EQ(q.key_name(), "keys/acme-auth-1");
  EXPECT_EQ(q.subject(), "nip:5260250274");
  EXPECT_EQ(q.operation(), "SignAuthToken");
  EXPECT_EQ(q.outcome(), v1::DENIED);
  EXPECT_EQ(q.page_size(), 50);
  EXPECT_EQ(q.page_token(), "tok-1");

  EXPECT_THAT(r.out, StartsWith("TIME "));
  EXPECT_THAT(r.out, ContainsRegex("2025-07-01T12:00:07Z +node-a:7 +success +SignAuthToken +"
                                   "keys/acme-auth-1 +nip:5260250274 +billing-svc +"
                                   "ABCDEF0123456789\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("ABCDEF0123456789ABCDEF")));  // shortened
  EXPECT_THAT(r.out, ContainsRegex("node-b:12 +denied .*CN=billing,O=Acme +- +"
                                   "PERMISSION_DENIED: not allowed to sign\n"));
  EXPECT_THAT(r.out, HasSubstr("2 event(s) shown\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("more:")));

  // No filters: nothing set in the request.
  r = Cli({"audit", "list"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "no audit events\n");
  requests = server_.audit().list_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_FALSE(requests[1].has_start_time());
  EXPECT_FALSE(requests[1].has_end_time());
  EXPECT_EQ(requests[1].outcome(), v1::AUDIT_OUTCOME_UNSPECIFIED);
  EXPECT_EQ(requests[1].page_size(), 0);
}

TEST_F(CliAuditAuthTest, AuditListAllFollowsPageTokens) {
  v1::ListAuditEventsResponse p1, p2, p3;
  *p1.add_events() = Event("node-a", 1, v1::SUCCESS);
  *p1.add_events() = Event("node-a", 2, v1::SUCCESS);
  p1.set_next_page_token("p2");
  *p2.add_events() = Event("node-a", 3, v1::FAILURE);
  p2.set_next_page_token("p3");
  *p3.add_events() = Event("node-a", 4, v1::SUCCESS);
  server_.audit().SetPage("", p1);
  server_.audit().SetPage("p2", p2);
  server_.audit().SetPage("p3", p3);

  Result r = Cli({"audit", "list", "--operation", "SignAuthToken", "--page-size", "2", "--all"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  std::vector<v1::ListAuditEventsRequest> requests = server_.audit().list_requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].page_token(), "");
  EXPECT_EQ(requests[1].page_token(), "p2");
  EXPECT_EQ(requests[2].page_token(), "p3");
  for (const auto& q : requests) {
    EXPECT_EQ(q.operation(), "SignAuthToken");  // same filters on every page
    EXPECT_EQ(q.page_size(), 2);
  }
  for (const char* event : {"node-a:1 ", "node-a:2 ", "node-a:3 ", "node-a:4 "}) {
    EXPECT_THAT(r.out, HasSubstr(event));
  }
  EXPECT_THAT(r.out, HasSubstr("4 event(s) shown\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("more:")));

  // One page only: the next token is shown.
  r = Cli({"audit", "list"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 event(s) shown\n"));
  EXPECT_THAT(r.out, HasSubstr("more: add --page-token p2 (same filters), or use --all\n"));

  // --json --all: one merged reply, hashes in full.
  r = Cli({"--json", "audit", "list", "--all"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"seq\": \"4\""));
  EXPECT_THAT(r.out, HasSubstr("\"next_page_token\": \"\""));
  EXPECT_THAT(r.out, HasSubstr("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"));
}

TEST_F(CliAuditAuthTest, AuditUsageErrorsComeBeforeAnyCall) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"audit"}, "missing list|usage|verify|public-key"},
           {{"audit", "lst"}, "unknown subcommand \"lst\""},
           {{"audit", "list", "--outcome", "ok"}, "invalid --outcome \"ok\""},
           {{"audit", "list", "--subject", "5260250274"}, "invalid --subject"},
           {{"audit", "list", "--subject", "regon:1"}, "invalid --subject"},
           {{"audit", "list", "--since", "yesterday"}, "invalid --since \"yesterday\""},
           {{"audit", "list", "--since", "2025-07-02T00:00:00Z", "--until", "2025-07-01T00:00:00Z"},
            "--until must be later than --since"},
           {{"audit", "list", "--page-size", "0"}, "--page-size: expected a positive number"},
           {{"audit", "list", "--db", "x"}, "--db does not apply to audit list"},
           {{"audit", "usage", "--all"}, "--all does not apply to audit usage"},
           {{"audit", "verify", "--public-key", "k.pem"}, "--public-key only applies with --db"},
           {{"audit", "public-key", "--out", ""}, "--out FILE is empty"},
       }) {
    Result r = Cli(c.args);
    EXPECT_EQ(r.exit_status, 2) << c.message;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_THAT(r.out, IsEmpty());
  }
  EXPECT_EQ(server_.audit().calls(), 0);
}

// --- audit usage -----------------------------------------------------------

TEST_F(CliAuditAuthTest, AuditUsage) {
  v1::GetKeyUsageResponse usage;
  v1::KeyUsage* u = usage.add_usage();
  u->set_key_name("keys/acme-auth-1");
  u->set_operation("SignAuthToken");
  u->set_count(42);
  u = usage.add_usage();
  u->set_key_name("keys/acme-offline-1");
  u->set_operation("SignOfflineLink");
  u->set_count(7);
  server_.audit().SetUsage(usage);

  Result r = Cli({"audit", "usage", "--key", "keys/acme-auth-1", "--since", "2025-07-01T00:00:00Z",
                  "--until", "2025-08-01T00:00:00Z"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  v1::GetKeyUsageRequest q = server_.audit().last_usage_request();
  EXPECT_EQ(q.key_name(), "keys/acme-auth-1");
  EXPECT_EQ(q.start_time().seconds(), 1751328000);
  EXPECT_EQ(q.end_time().seconds(), 1754006400);
  EXPECT_THAT(r.out, ContainsRegex("^KEY +OPERATION +COUNT\n"));
  EXPECT_THAT(r.out, ContainsRegex("keys/acme-auth-1 +SignAuthToken +42\n"));
  EXPECT_THAT(r.out, ContainsRegex("keys/acme-offline-1 +SignOfflineLink +7\n"));

  r = Cli({"audit", "usage"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  q = server_.audit().last_usage_request();
  EXPECT_EQ(q.key_name(), "");
  EXPECT_FALSE(q.has_start_time());
  EXPECT_FALSE(q.has_end_time());
}

// --- audit verify (server) -------------------------------------------------

TEST_F(CliAuditAuthTest, AuditVerifyOnTheServer) {
  v1::VerifyAuditLogResponse ok;
  ok.set_ok(true);
  v1::AuditChainReport* chain = ok.add_chains();
  chain->set_node("node-a");
  chain->set_events(120);
  chain->set_checkpoints(3);
  chain->set_last_seq(120);
  chain->set_last_checkpoint_seq(118);
  server_.audit().SetVerifyResult(ok);
  Result r = Cli({"audit", "verify"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, ContainsRegex("node-a +120 +3 +120 +118\n"));
  EXPECT_THAT(r.out, HasSubstr("result: OK\n"));
  EXPECT_THAT(r.err, IsEmpty());

  v1::VerifyAuditLogResponse bad = ok;
  bad.set_ok(false);
  bad.set_bad_node("node-a");
  bad.set_bad_seq(57);
  bad.set_problem("event hash mismatch: the event was modified");
  server_.audit().SetVerifyResult(bad);
  r = Cli({"audit", "verify"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.out, HasSubstr("result: FAILED\nbad_node: node-a\nbad_seq: 57\n"
                               "problem: event hash mismatch: the event was modified\n"));

  r = Cli({"--json", "audit", "verify"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.out, HasSubstr("\"bad_seq\": \"57\""));
  EXPECT_THAT(r.err, HasSubstr("node node-a, seq 57: event hash mismatch"));
}

// --- audit public-key ------------------------------------------------------

TEST_F(CliAuditAuthTest, AuditPublicKey) {
  Result r = Cli({"audit", "public-key"});  // the fake has no key yet
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION: no audit key configured"));

  EcKey key;
  v1::AuditPublicKey reply;
  reply.set_der(key.spki());
  reply.set_pem(key.pem());
  reply.set_sha256_fingerprint(std::string(64, 'F'));
  server_.audit().SetPublicKey(reply);

  r = Cli({"audit", "public-key"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, key.pem() + "sha256_fingerprint: " + std::string(64, 'F') + "\n");

  std::string out = Path("audit-key.pem");
  r = Cli({"audit", "public-key", "--out", out});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(Read(out), key.pem());
  EXPECT_THAT(r.out, HasSubstr("wrote the audit public key (PEM) to " + out));
  EXPECT_THAT(r.out, HasSubstr("sha256_fingerprint: " + std::string(64, 'F')));
}

// --- audit verify --db (offline) -------------------------------------------

class OfflineVerifyTest : public CliAuditAuthTest {
 protected:
  void SetUp() override {
    CliAuditAuthTest::SetUp();
    db_ = Path("audit.db");
    auto store = audit::SqliteAuditStore::Open(db_);
    ASSERT_TRUE(store.ok()) << store.status();
    audit::AuditLogOptions options;
    options.node = "node-a";
    options.checkpoint_interval = absl::Hours(1);
    auto log = audit::AuditLog::Start(store->get(), key_.signer(), options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 1; i <= 5; ++i) {
      audit::AuditEvent e;
      e.caller.subject = "CN=billing,O=Acme";
      e.caller.name = "billing-svc";
      e.operation = "SignAuthToken";
      e.key_name = "keys/acme-auth-1";
      e.subject = "nip:5260250274";
      e.signed_sha256 = std::string(64, 'A');
      ASSERT_TRUE((*log)->Record(e).ok());
    }
    (*log)->Shutdown();  // writes the final checkpoint
    log->reset();
    store->reset();  // closes the file
    pem_ = File("audit-key.pem", key_.pem());
  }

  void Sql(const char* sql) {
    auto db = SqliteDb::Open(db_, "audit store");
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec(sql).ok());
  }

  EcKey key_;
  std::string db_;
  std::string pem_;
};

TEST_F(OfflineVerifyTest, IntactStoreVerifiesWithoutAServer) {
  std::string before = Read(db_);
  Result r = Cli({"audit", "verify", "--db", db_, "--public-key", pem_});
  ASSERT_EQ(r.exit_status, 0) << r.err << r.out;
  EXPECT_THAT(r.out, ContainsRegex("node-a +5 +2 +5 +5\n"));  // genesis and closing checkpoints
  EXPECT_THAT(r.out, HasSubstr("result: OK\n"));
  EXPECT_THAT(r.err, Not(HasSubstr("warning")));
  EXPECT_EQ(server_.audit().calls(), 0);
  EXPECT_EQ(Read(db_), before);  // worked on a copy
  EXPECT_FALSE(std::filesystem::exists(db_ + "-shm"));

  // DER works as well.
  r = Cli({"audit", "verify", "--db", db_, "--public-key", File("audit-key.der", key_.spki())});
  EXPECT_EQ(r.exit_status, 0) << r.err << r.out;

  // Without the trusted key or the anchor: the chain is OK, but signatures
  // were not checked against a pinned key, so the exit status is 1...
  r = Cli({"audit", "verify", "--db", db_});
  EXPECT_EQ(r.exit_status, 1) << r.err << r.out;
  EXPECT_THAT(r.err, HasSubstr("warning: no --public-key and no --anchor: signatures were NOT "
                               "checked against the audit key"));
  EXPECT_THAT(r.err, HasSubstr("--insecure-skip-signature"));
  EXPECT_THAT(r.out, HasSubstr("result: OK\n"));
  // ...unless the caller says that is what they want.
  r = Cli({"audit", "verify", "--db", db_, "--insecure-skip-signature"});
  EXPECT_EQ(r.exit_status, 0) << r.err << r.out;
  EXPECT_THAT(r.err, HasSubstr("signatures were NOT checked"));

  // --json: the same reply as the server's.
  r = Cli({"--json", "audit", "verify", "--db", db_, "--public-key", pem_});
  EXPECT_EQ(r.exit_status, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"ok\": true"));
  EXPECT_EQ(server_.audit().calls(), 0);
}

TEST_F(OfflineVerifyTest, ACheckpointByAnotherKeyFails) {
  EcKey other;
  Result r = Cli({"audit", "verify", "--db", db_, "--public-key", File("other.pem", other.pem())});
  EXPECT_EQ(r.exit_status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("result: FAILED\nbad_node: node-a\n"));
}

TEST_F(OfflineVerifyTest, AnEditedEventFailsNamingItsSeq) {
  Sql("UPDATE audit_events SET outcome='DENIED', message='edited' WHERE seq=3");
  Result r = Cli({"audit", "verify", "--db", db_, "--public-key", pem_});
  EXPECT_EQ(r.exit_status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("result: FAILED\nbad_node: node-a\nbad_seq: 3\nproblem: "));
  EXPECT_THAT(r.out, HasSubstr("problem: event 3 was modified"));

  // Without --public-key the edit is found just the same.
  r = Cli({"audit", "verify", "--db", db_, "--insecure-skip-signature"});
  EXPECT_EQ(r.exit_status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("bad_seq: 3\n"));
  EXPECT_EQ(server_.audit().calls(), 0);
}

TEST_F(OfflineVerifyTest, TheAnchorPinsTheKeyAndFindsACutTail) {
  // The anchor the server would have written for this store.
  std::string anchor;
  {
    auto store = audit::SqliteAuditStore::Open(db_);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::vector<audit::Checkpoint>> checkpoints = (*store)->Checkpoints("node-a");
    ASSERT_TRUE(checkpoints.ok()) << checkpoints.status();
    for (const audit::Checkpoint& cp : *checkpoints) {
      absl::StrAppend(&anchor, audit::FormatAnchorLine(cp), "\n");
    }
  }
  const std::string anchor_file = File("audit-anchor.log", anchor);
  Result r = Cli({"audit", "verify", "--db", db_, "--anchor", anchor_file});
  ASSERT_EQ(r.exit_status, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("result: OK\n"));
  EXPECT_THAT(r.err, Not(HasSubstr("warning")));
  EXPECT_THAT(r.out, Not(HasSubstr("unprotected tail")));

  // Cutting the tail with the checkpoint that covers it passes without the
  // anchor, and fails with it, naming the missing checkpoint.
  Sql("DELETE FROM audit_events WHERE seq>3; DELETE FROM audit_checkpoints WHERE seq>0");
  r = Cli({"audit", "verify", "--db", db_, "--public-key", pem_});
  EXPECT_EQ(r.exit_status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("unprotected tail: node-a: 3 events past the last checkpoint\n"));
  r = Cli({"audit", "verify", "--db", db_, "--anchor", anchor_file, "--public-key", pem_});
  EXPECT_EQ(r.exit_status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("bad_seq: 5\nproblem: anchored checkpoint at seq 5"));

  r = Cli({"audit", "verify", "--db", db_, "--anchor", Path("missing.log")});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("does not exist"));
  r = Cli({"audit", "verify", "--anchor", anchor_file});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("--anchor only applies with --db"));
}

TEST_F(OfflineVerifyTest, BadInputFiles) {
  Result r = Cli({"audit", "verify", "--db", Path("nope.db")});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read audit store " + Path("nope.db")));

  r = Cli({"audit", "verify", "--db", db_, "--public-key", File("junk.pem", "not a key")});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("holds no public key"));

  r = Cli({"audit", "verify", "--db", db_, "--public-key", Path("missing.pem")});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read audit public key file"));
  EXPECT_THAT(r.out, IsEmpty());
}

// --- auth-sign -------------------------------------------------------------

TEST_F(CliAuditAuthTest, AuthSignByNameWritesTheXmlExactly) {
  std::string out = Path("auth.xml");
  Result r = Cli({"auth-sign", "acme-auth-1", "--challenge", "20250625-CR-20F5EE4000-DA48AE4124-46",
                  "--nip", "5260250274", "--out", out});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(Read(out), FakeAuth::Xml());  // byte for byte
  EXPECT_THAT(r.out, StartsWith(absl::StrCat("wrote ", FakeAuth::Xml().size(),
                                             " bytes (signed AuthTokenRequest XML) to ", out)));
  EXPECT_THAT(r.out, ContainsRegex("key: +keys/acme-auth-1\n"));
  EXPECT_THAT(r.out, ContainsRegex("certificate_serial_number: +01F20A5D352AE590\n"));
  EXPECT_THAT(r.out, ContainsRegex("signing_time: +2025-07-01T12:00:00Z\n"));
  EXPECT_THAT(r.out, ContainsRegex(absl::StrCat("document_sha256: +", FakeAuth::kDocumentSha256)));
  EXPECT_THAT(r.err, IsEmpty());

  v1::SignAuthTokenRequest q = server_.auth().last_request();
  EXPECT_EQ(q.name(), "keys/acme-auth-1");
  EXPECT_FALSE(q.has_subject());
  EXPECT_EQ(q.challenge(), "20250625-CR-20F5EE4000-DA48AE4124-46");
  EXPECT_EQ(q.context_identifier().value_case(), v1::ContextIdentifier::kNip);
  EXPECT_EQ(q.context_identifier().nip(), "5260250274");
  EXPECT_EQ(q.subject_identifier_type(), v1::SUBJECT_IDENTIFIER_TYPE_UNSPECIFIED);
  EXPECT_EQ(q.schema_version(), v1::AUTH_SCHEMA_VERSION_UNSPECIFIED);
  EXPECT_FALSE(q.has_allowed_ips());
}

TEST_F(CliAuditAuthTest, AuthSignToStdoutPrintsOnlyTheXml) {
  Result r = Cli({"auth-sign", "--subject-type", "nip", "--subject", "5260250274", "--challenge",
                  "C1", "--peppol-id", "PPL123456"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, FakeAuth::Xml());
  EXPECT_THAT(r.err, ContainsRegex("key: +keys/by-subject\n"));
  EXPECT_THAT(r.err, HasSubstr(FakeAuth::kDocumentSha256));
  v1::SignAuthTokenRequest q = server_.auth().last_request();
  EXPECT_EQ(q.name(), "");
  EXPECT_EQ(q.subject().type(), v1::KsefSubject::NIP);
  EXPECT_EQ(q.subject().value(), "5260250274");
  EXPECT_EQ(q.context_identifier().peppol_id(), "PPL123456");

  r = Cli({"--json", "auth-sign", "acme-auth-1", "--challenge", "C1", "--nip", "5260250274"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"document_sha256\": \""));
  EXPECT_THAT(r.out, HasSubstr("\"certificate_serial_number\": \"01F20A5D352AE590\""));
}

TEST_F(CliAuditAuthTest, AuthSignMapsEveryFlag) {
  // Each kind of context identifier.
  struct ContextCase {
    std::string flag;
    v1::ContextIdentifier::ValueCase value_case;
  };
  for (const ContextCase& c : std::vector<ContextCase>{
           {"--nip", v1::ContextIdentifier::kNip},
           {"--internal-id", v1::ContextIdentifier::kInternalId},
           {"--nip-vat-ue", v1::ContextIdentifier::kNipVatUe},
           {"--peppol-id", v1::ContextIdentifier::kPeppolId},
       }) {
    Result r = Cli({"auth-sign", "acme-auth-1", "--challenge", "C", c.flag, "VALUE-1", "--out",
                    Path("ctx.xml")});
    ASSERT_EQ(r.exit_status, 0) << c.flag << ": " << r.err;
    v1::ContextIdentifier got = server_.auth().last_request().context_identifier();
    EXPECT_EQ(got.value_case(), c.value_case) << c.flag;
    const std::string& value = c.value_case == v1::ContextIdentifier::kNip ? got.nip()
                               : c.value_case == v1::ContextIdentifier::kInternalId
                                   ? got.internal_id()
                               : c.value_case == v1::ContextIdentifier::kNipVatUe ? got.nip_vat_ue()
                                                                                  : got.peppol_id();
    EXPECT_EQ(value, "VALUE-1") << c.flag;
  }

  // IP policy (repeatable, in order), schema, subject identifier type.
  Result r = Cli({"auth-sign",
                  "keys/acme-auth-1",
                  "--challenge",
                  "C",
                  "--internal-id",
                  "5260250274-12345",
                  "--allow-ip",
                  "192.0.2.10",
                  "--allow-ip=192.0.2.11",
                  "--allow-ip-range",
                  "192.0.2.20-192.0.2.30",
                  "--allow-ip-mask",
                  "198.51.100.0/24",
                  "--allow-ip-mask",
                  "203.0.113.0/25",
                  "--schema",
                  "2.1",
                  "--subject-identifier-type",
                  "certificate-fingerprint",
                  "--out",
                  Path("ips.xml")});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  v1::SignAuthTokenRequest q = server_.auth().last_request();
  EXPECT_THAT(q.allowed_ips().ip4_addresses(), ElementsAre("192.0.2.10", "192.0.2.11"));
  EXPECT_THAT(q.allowed_ips().ip4_ranges(), ElementsAre("192.0.2.20-192.0.2.30"));
  EXPECT_THAT(q.allowed_ips().ip4_masks(), ElementsAre("198.51.100.0/24", "203.0.113.0/25"));
  EXPECT_EQ(q.schema_version(), v1::V2_1);
  EXPECT_EQ(q.subject_identifier_type(), v1::CERTIFICATE_FINGERPRINT);
  EXPECT_EQ(Read(Path("ips.xml")), FakeAuth::Xml());

  r = Cli({"auth-sign", "acme-auth-1", "--challenge", "C", "--nip", "5260250274", "--schema", "2.0",
           "--subject-identifier-type", "certificate-subject", "--out", Path("v20.xml")});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  q = server_.auth().last_request();
  EXPECT_EQ(q.schema_version(), v1::V2_0);
  EXPECT_EQ(q.subject_identifier_type(), v1::CERTIFICATE_SUBJECT);

  r = Cli({"auth-sign", "--subject-type", "pesel", "--subject", "44051401359", "--challenge", "C",
           "--nip", "5260250274", "--out", Path("pesel.xml")});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  q = server_.auth().last_request();
  EXPECT_EQ(q.subject().type(), v1::KsefSubject::PESEL);
  EXPECT_EQ(q.subject().value(), "44051401359");
}

TEST_F(CliAuditAuthTest, AuthSignServerErrors) {
  Result r = Cli({"auth-sign", "missing", "--challenge", "C", "--nip", "5260250274"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND: key keys/missing not found"));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(CliAuditAuthTest, AuthSignUsageErrorsComeBeforeAnyCall) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"auth-sign", "k", "--nip", "5260250274"}, "missing --challenge"},
           {{"auth-sign", "k", "--challenge", " ", "--nip", "5260250274"}, "--challenge is empty"},
           {{"auth-sign", "k", "--challenge", "C", "--nip", "5260250274", "--peppol-id", "PPL1"},
            "give exactly one context identifier"},
           {{"auth-sign", "k", "--challenge", "C", "--nip", "1", "--nip", "2"},
            "give exactly one context identifier"},
           {{"auth-sign", "k", "--challenge", "C"}, "missing the context identifier"},
           {{"auth-sign", "--challenge", "C", "--nip", "5260250274"}, "missing the key"},
           {{"auth-sign", "k", "--subject-type", "nip", "--subject", "5260250274", "--challenge",
             "C", "--nip", "5260250274"},
            "not both"},
           {{"auth-sign", "--subject", "5260250274", "--challenge", "C", "--nip", "5260250274"},
            "missing --subject-type"},
           {{"auth-sign", "k", "--challenge", "C", "--nip", "5260250274", "--schema", "3"},
            "invalid --schema \"3\""},
           {{"auth-sign", "k", "--challenge", "C", "--nip", "5260250274",
             "--subject-identifier-type", "nip"},
            "invalid --subject-identifier-type"},
           {{"auth-sign", "k", "--challenge", "C", "--nip", "5260250274", "--allow-ip="},
            "--allow-ip is empty"},
           {{"auth-sign", "k", "l", "--challenge", "C", "--nip", "5260250274"},
            "unexpected argument \"l\""},
       }) {
    Result r = Cli(c.args);
    EXPECT_EQ(r.exit_status, 2) << c.message;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_THAT(r.out, IsEmpty());
  }
  EXPECT_EQ(server_.auth().calls(), 0);
}

}  // namespace
}  // namespace ksef::client
