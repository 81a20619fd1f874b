// End-to-end: the real ksef-hsmd against hostile callers (issue 11,
// design.md 6a). A caller that only reaches the port, or one with a
// certificate but no grant, may cost the server a few bytes and learn
// nothing: idle and unread streams do not pin memory or threads, floods of
// refusals barely grow the audit store yet every refusal is counted, and
// answers never tell whether a key or subject exists.
#include <openssl/sha.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/notification.h"
#include "audit/sqlite_audit_store.h"
#include "tests/e2e/e2e_fixture.h"

namespace ksef {
namespace {

using HostileE2eTest = E2eFixture;

constexpr char kNipC[] = "7680002466";  // valid check digit, never given keys

// One line of /proc/<pid>/status ("VmRSS", "Threads") as a number.
int64_t ProcStatus(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::string value(absl::StripAsciiWhitespace(line.substr(field.size() + 1)));
    value = value.substr(0, value.find(' '));
    int64_t n = 0;
    if (absl::SimpleAtoi(value, &n)) return n;
  }
  return -1;
}
// The acceptance bound on the server's resident memory, in MB.
double RssBoundMb() { return 200 * EnvScale("KSEF_TEST_MEMORY_SCALE"); }

int64_t RssMb(pid_t pid) { return ProcStatus(pid, "VmRSS") / 1024; }
int64_t Threads(pid_t pid) { return ProcStatus(pid, "Threads"); }

int64_t FileSize(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  return in ? static_cast<int64_t>(in.tellg()) : 0;
}

class HostileServerTest : public HostileE2eTest {
 protected:
  void Start(const std::string& extra_config = "") {
    std::ofstream(config_, std::ios::app) << extra_config;
    WritePolicy("identity billing subject=\"CN=billing\"\n"
                "grant billing offline-signing subject=nip:" +
                std::string(kNipA) + "\n");
    ASSERT_TRUE(ksef::testing::IssueClientCertificate(dir_ + "/pki", "billing", "billing").ok());
    auto server = ServerProcess::Start(config_, dir_ + "/server.log");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    cli_ = Connect(server_->port(), "client");
  }

  // p99 of `n` sequential SignOfflineInvoice calls by a legitimate caller, in ms.
  double SigningP99Ms(Caller& c, int n) {
    std::vector<double> ms;
    for (int i = 0; i < n; ++i) {
      pb::OfflineInvoiceCodes codes;
      const absl::Time start = absl::Now();
      grpc::Status s = Call([&](auto* ctx) {
        return c.offline->SignOfflineInvoice(ctx, Invoice("keys/off-a", i), &codes);
      });
      ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    std::sort(ms.begin(), ms.end());
    return ms[static_cast<size_t>(0.99 * (ms.size() - 1))];
  }

  std::unique_ptr<ServerProcess> server_;
  Caller cli_;
};

// Acceptance: 2,000 idle streams without a certificate, and a stream that
// never reads, cost the server little; legitimate signing stays fast; all is
// released when the clients go away.
TEST_F(HostileServerTest, IdleAndUnreadStreamsHoldNeitherMemoryNorThreads) {
  Start("stream_write_timeout = 4s\nstream_idle_timeout = 6s\n");
  ActiveKey(cli_, "off-a", kNipA, pb::OFFLINE);
  const pid_t pid = server_->pid();
  const int64_t threads_before = Threads(pid);
  SigningP99Ms(cli_, 50);  // warm up
  const double p99_quiet = SigningP99Ms(cli_, 300);

  struct OpenStream {
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientReaderWriter<pb::SignOfflineInvoiceRequest,
                                             pb::OfflineInvoiceResult>>
        stream;
  };
  std::vector<Caller> anonymous;
  for (int i = 0; i < 20; ++i) anonymous.push_back(Connect(server_->port(), ""));
  std::vector<OpenStream> idle;
  for (int i = 0; i < 2000; ++i) {
    OpenStream s;
    s.ctx = std::make_unique<grpc::ClientContext>();
    s.ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    s.stream = anonymous[i % anonymous.size()].offline->SignOfflineInvoices(s.ctx.get());
    idle.push_back(std::move(s));
  }

  // A stream without a certificate that sends invoices and never reads.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> anon_sent{0};
  std::thread anon_writer([&] {
    grpc::ClientContext ctx;
    auto stream = anonymous[0].offline->SignOfflineInvoices(&ctx);
    pb::SignOfflineInvoiceRequest big = Invoice("keys/off-a", 0);
    big.set_ksef_number(std::string(1 << 20, 'x'));
    while (!stop && stream->Write(big)) ++anon_sent;
    ctx.TryCancel();
  });
  // A caller with a grant that sends invoices with images and never reads.
  Caller billing = Connect(server_->port(), "billing");
  std::atomic<bool> unread_closed{false};
  std::thread unread_writer([&] {
    grpc::ClientContext ctx;
    auto stream = billing.offline->SignOfflineInvoices(&ctx);
    for (int i = 0; !stop; ++i) {
      pb::SignOfflineInvoiceRequest req = Invoice("keys/off-a", i);
      req.set_images(true);
      if (!stream->Write(req)) break;
    }
    unread_closed = !stop;
    ctx.TryCancel();
  });

  // By now the unread stream's answers have filled the flow-control window
  // and the server waits for its reader (until stream_write_timeout).
  absl::SleepFor(absl::Milliseconds(1500));
  const double p99 = SigningP99Ms(cli_, 300);
  const int64_t rss_during = RssMb(pid);
  const int64_t threads_during = Threads(pid);
  std::printf("server during: %lld MB, %lld threads (before: %lld); legitimate p99 %.2f ms "
              "(%.2f ms before); the anonymous writer got %lld messages through\n",
              static_cast<long long>(rss_during), static_cast<long long>(threads_during),
              static_cast<long long>(threads_before), p99, p99_quiet,
              static_cast<long long>(anon_sent.load()));
  EXPECT_LT(rss_during, RssBoundMb());
  EXPECT_LT(threads_during, 200);
  // The acceptance bound is 10 ms on a machine whose quiet p99 is well
  // below it. Where the same run shows the machine itself slower than 5 ms
  // at p99 without any attack (a loaded CI host, a sanitizer build), the
  // bound is twice that quiet p99: what is tested is that the attack does
  // not slow legitimate callers, not the machine's speed.
  const double bound = std::max(10.0, 2.0 * p99_quiet) * TimeScale();
  EXPECT_LT(p99, bound) << "legitimate signing slowed down by hostile streams (quiet p99 "
                        << p99_quiet << " ms)";

  // The unread stream is closed by the server (stream_write_timeout 2 s).
  for (int i = 0; i < 100 && !unread_closed; ++i) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_TRUE(unread_closed) << "a stream whose client never reads was kept open";
  EXPECT_LT(RssMb(pid), RssBoundMb());

  stop = true;
  anon_writer.join();
  unread_writer.join();
  // Each was refused at once: UNAUTHENTICATED, or RESOURCE_EXHAUSTED when the
  // burst found every worker thread busy (grpc_max_threads) - never served.
  int unauthenticated = 0, exhausted = 0;
  for (OpenStream& s : idle) {
    grpc::Status st = s.stream->Finish();
    unauthenticated += st.error_code() == grpc::StatusCode::UNAUTHENTICATED;
    exhausted += st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  std::printf("idle streams: %d UNAUTHENTICATED, %d RESOURCE_EXHAUSTED\n", unauthenticated,
              exhausted);
  EXPECT_EQ(unauthenticated + exhausted, 2000);
  idle.clear();
  anonymous.clear();
  // Left: at most the 8 worker threads gRPC keeps polling between calls
  // (kIdleGrpcThreads in service/server.cc), besides a slack of 8.
  const int64_t thread_bound = threads_before + 8 + 8;
  int64_t threads_after = Threads(pid);
  for (int i = 0; i < 50 && threads_after > thread_bound; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    threads_after = Threads(pid);
  }
  EXPECT_LE(threads_after, thread_bound);
  EXPECT_NE(server_->Log().find("did not read its answers"), std::string::npos) << server_->Log();
}

// Streams are a bounded, server-wide resource: past max_streams a caller
// gets RESOURCE_EXHAUSTED, and a stream that sends nothing is closed after
// stream_idle_timeout, which frees its slot.
TEST_F(HostileServerTest, StreamsAreLimitedAndIdleOnesAreClosed) {
  Start("max_streams = 2\nstream_idle_timeout = 1s\n");
  Caller billing = Connect(server_->port(), "billing");
  using Stream =
      grpc::ClientReaderWriter<pb::SignOfflineInvoiceRequest, pb::OfflineInvoiceResult>;
  grpc::ClientContext c1, c2, c3;
  std::unique_ptr<Stream> s1 = billing.offline->SignOfflineInvoices(&c1);
  std::unique_ptr<Stream> s2 = billing.offline->SignOfflineInvoices(&c2);
  absl::SleepFor(absl::Milliseconds(300));
  std::unique_ptr<Stream> s3 = billing.offline->SignOfflineInvoices(&c3);
  grpc::Status third = s3->Finish();
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << third.error_message();
  EXPECT_NE(third.error_message().find("max_streams"), std::string::npos);
  // Both idle streams are cancelled by the server (an HTTP/2 reset carries
  // no message; the server log says why).
  for (Stream* s : {s1.get(), s2.get()}) {
    grpc::Status closed = s->Finish();
    EXPECT_EQ(closed.error_code(), grpc::StatusCode::CANCELLED) << closed.error_message();
  }
  EXPECT_NE(server_->Log().find("(stream_idle_timeout)"), std::string::npos) << server_->Log();
  // Their slots are free again (once the server has finished closing them).
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    grpc::ClientContext c4;
    std::unique_ptr<Stream> s4 = billing.offline->SignOfflineInvoices(&c4);
    pb::OfflineInvoiceResult result;
    if (s4->Write(Invoice("keys/no-such-key", 1)) && s4->Read(&result)) {
      EXPECT_EQ(result.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << result.error_message();
      s4->WritesDone();
      EXPECT_TRUE(s4->Finish().ok());
      served = true;
    } else {
      grpc::Status st = s4->Finish();
      ASSERT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  EXPECT_TRUE(served) << "the slots of closed streams were not freed";
}

// Acceptance: 1,000 unauthenticated and 1,000 unauthorized calls with 3 MB
// fields grow the audit store by less than 1 MB, and every refusal is
// counted in it.
TEST_F(HostileServerTest, RefusalFloodsBarelyGrowTheAuditStoreButAreAllCounted) {
  Start();
  ActiveKey(cli_, "auth-a", kNipA, pb::AUTHENTICATION);
  // Sizes are taken with the server stopped: SQLite then folds its write-ahead
  // log into the database, so what is measured is what the store holds.
  const std::string db = dir_ + "/state/audit.db";
  ASSERT_EQ(server_->Stop(SIGTERM), 0);
  const int64_t before = FileSize(db);
  auto restarted = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  server_ = std::move(*restarted);
  cli_ = Connect(server_->port(), "client");
  const std::string three_mb(3 << 20, 'A');

  auto flood = [&](const std::string& who, int calls) {
    Caller c = Connect(server_->port(), who);
    std::vector<std::thread> threads;
    std::atomic<int> refused{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < calls; i += 4) {
          grpc::Status s;
          if (i % 2 == 0) {
            pb::SignAuthTokenRequest req = AuthRequest("keys/auth-a");
            req.mutable_context_identifier()->set_peppol_id(three_mb);
            pb::SignedAuthToken resp;
            s = Call([&](auto* ctx) { return c.auth->SignAuthToken(ctx, req, &resp); });
          } else {
            pb::GetKeyRequest req;
            req.set_name("keys/" + three_mb);
            pb::Key key;
            s = Call([&](auto* ctx) { return c.keys->GetKey(ctx, req, &key); });
          }
          if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
              s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
            ++refused;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    return refused.load();
  };
  const absl::Time flood_start = absl::Now();
  EXPECT_EQ(flood("", 1000), 1000);
  EXPECT_EQ(flood("mallory", 1000), 1000);
  const int64_t flood_seconds = absl::ToInt64Seconds(absl::Now() - flood_start) + 1;
  absl::SleepFor(absl::Seconds(2));  // the last window's counts are written

  int64_t unauthenticated = 0, unauthorized = 0, events = 0;
  for (const pb::AuditEvent& e : Events(cli_)) {
    if (e.outcome() != pb::DENIED) continue;
    ++events;
    EXPECT_LE(e.ByteSizeLong(), 4096u) << e.DebugString().substr(0, 500);
    EXPECT_TRUE(e.context().empty());
    EXPECT_EQ(e.key_name().find("AAAAAAAA"), std::string::npos) << e.key_name().substr(0, 80);
    if (e.caller().subject().empty()) {
      unauthenticated += e.count();
      EXPECT_FALSE(e.peer().empty());
    } else if (e.caller().subject() == "CN=mallory") {
      unauthorized += e.count();
    }
  }
  EXPECT_EQ(unauthenticated, 1000);
  EXPECT_EQ(unauthorized, 1000);
  // The chain with the aggregated events still verifies.
  pb::VerifyAuditLogResponse report;
  ASSERT_TRUE(Call([&](auto* ctx) {
                return cli_.audit->VerifyAuditLog(ctx, pb::VerifyAuditLogRequest(), &report);
              }).ok());
  EXPECT_TRUE(report.ok()) << report.problem();
  // Four groups (two callers x two operations, one peer), at most two events
  // per group and 1 s window, plus the window in which each group starts.
  EXPECT_LE(events, 4 * 2 * (flood_seconds + 1))
      << "refusals were not aggregated (" << flood_seconds << " s of flood)";
  ASSERT_EQ(server_->Stop(SIGTERM), 0);
  const int64_t growth = FileSize(db) - before;
  std::printf("audit store grew by %lld bytes (%lld refusal events) for 2,000 refused 3 MB calls\n",
              static_cast<long long>(growth), static_cast<long long>(events));
  EXPECT_LT(growth, 1 << 20);

}

// Acceptance: the same status and message for a missing and an existing
// key, and for a subject with and without keys, for a caller without a
// certificate and for one without grants.
TEST_F(HostileServerTest, RefusalsNeverTellWhetherAKeyOrSubjectExists) {
  Start();
  ActiveKey(cli_, "auth-b", kNipB, pb::AUTHENTICATION);
  ActiveKey(cli_, "off-b", kNipB, pb::OFFLINE);

  struct Probe {
    std::string what;
    std::function<grpc::Status(Caller&, bool exists)> call;
  };
  const std::vector<Probe> probes = {
      {"GetKey",
       [](Caller& c, bool exists) {
         pb::GetKeyRequest req;
         req.set_name(exists ? "keys/auth-b" : "keys/no-such-key");
         pb::Key key;
         return Call([&](auto* ctx) { return c.keys->GetKey(ctx, req, &key); });
       }},
      {"GetPublicKey",
       [](Caller& c, bool exists) {
         pb::GetPublicKeyRequest req;
         req.set_name(exists ? "keys/auth-b" : "keys/no-such-key");
         pb::PublicKey key;
         return Call([&](auto* ctx) { return c.keys->GetPublicKey(ctx, req, &key); });
       }},
      {"DisableKey",
       [](Caller& c, bool exists) {
         pb::DisableKeyRequest req;
         req.set_name(exists ? "keys/auth-b" : "keys/no-such-key");
         pb::Key key;
         return Call([&](auto* ctx) { return c.keys->DisableKey(ctx, req, &key); });
       }},
      {"GenerateCsr",
       [](Caller& c, bool exists) {
         pb::GenerateCsrRequest req;
         req.set_name(exists ? "keys/auth-b" : "keys/no-such-key");
         pb::GenerateCsrResponse resp;
         return Call([&](auto* ctx) { return c.enroll->GenerateCsr(ctx, req, &resp); });
       }},
      {"SignAuthToken by key",
       [](Caller& c, bool exists) {
         pb::SignedAuthToken resp;
         auto req = AuthRequest(exists ? "keys/auth-b" : "keys/no-such-key");
         return Call([&](auto* ctx) { return c.auth->SignAuthToken(ctx, req, &resp); });
       }},
      {"SignAuthToken by subject",
       [](Caller& c, bool exists) {
         pb::SignAuthTokenRequest req = AuthRequest("");
         req.mutable_subject()->set_type(pb::KsefSubject::NIP);
         req.mutable_subject()->set_value(exists ? kNipB : kNipC);
         pb::SignedAuthToken resp;
         return Call([&](auto* ctx) { return c.auth->SignAuthToken(ctx, req, &resp); });
       }},
      {"SignOfflineInvoice by subject",
       [](Caller& c, bool exists) {
         pb::SignOfflineInvoiceRequest req = Invoice("", 1);
         req.mutable_subject()->set_type(pb::KsefSubject::NIP);
         req.mutable_subject()->set_value(exists ? kNipB : kNipC);
         pb::OfflineInvoiceCodes codes;
         return Call([&](auto* ctx) { return c.offline->SignOfflineInvoice(ctx, req, &codes); });
       }},
      {"ListKeys of a subject",
       [](Caller& c, bool exists) {
         pb::ListKeysRequest req;
         req.mutable_subject()->set_type(pb::KsefSubject::NIP);
         req.mutable_subject()->set_value(exists ? kNipB : kNipC);
         pb::ListKeysResponse resp;
         return Call([&](auto* ctx) { return c.keys->ListKeys(ctx, req, &resp); });
       }},
  };
  // No certificate; a certificate without any grant; alice, whose grants are
  // all for another subject (NIP A).
  for (const std::string who : {"", "mallory", "alice"}) {
    Caller c = Connect(server_->port(), who);
    for (const Probe& probe : probes) {
      grpc::Status existing = probe.call(c, true);
      grpc::Status missing = probe.call(c, false);
      const std::string label = absl::StrCat(who.empty() ? "(no certificate)" : who, ": ",
                                             probe.what);
      EXPECT_EQ(existing.error_code(), missing.error_code()) << label;
      EXPECT_EQ(existing.error_message(), missing.error_message()) << label;
      EXPECT_TRUE(existing.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                  existing.error_code() == grpc::StatusCode::PERMISSION_DENIED)
          << label << ": " << existing.error_code() << " " << existing.error_message();
      EXPECT_EQ(existing.error_message().find("auth-b"), std::string::npos) << label;
      EXPECT_EQ(existing.error_message().find(kNipB), std::string::npos) << label;
    }
  }
}

// A unary request that does not parse is INVALID_ARGUMENT with a message a
// person can act on, and it is audited.
TEST_F(HostileServerTest, MalformedRequestsAreInvalidArgumentAndAudited) {
  Start();
  grpc::GenericStub stub(cli_.channel);
  // GetKeyRequest.name (field 1) holding bytes that are not UTF-8.
  const std::string wire = std::string("\x0a\x02\xff\xfe", 4);
  grpc::Slice slice(wire);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext ctx;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/ksef.hsm.v1.KeyService/GetKey", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("UTF-8"), std::string::npos) << status.error_message();
  absl::SleepFor(absl::Milliseconds(200));
  bool audited = false;
  for (const pb::AuditEvent& e : Events(cli_, "GetKey")) {
    audited |= e.status_code() == grpc::StatusCode::INVALID_ARGUMENT &&
               e.caller().subject() == "CN=ksef-hsm-cli";
  }
  EXPECT_TRUE(audited);
}

// Over gRPC, a subject field with a NUL, a newline or too many characters is
// INVALID_ARGUMENT naming the field, nothing is signed, and it is audited.
TEST_F(HostileServerTest, CsrSubjectFieldsAreValidatedOverGrpc) {
  Start();
  pb::Key key;
  ASSERT_TRUE(Call([&](auto* ctx) {
                return cli_.keys->CreateKey(ctx, KeyRequest("csr-a", kNipA, pb::AUTHENTICATION),
                                            &key);
              }).ok());
  struct Bad {
    std::function<void(pb::EnrollmentData*)> set;
    std::string field;
  };
  const std::vector<Bad> cases = {
      {[](auto* d) { d->set_common_name(std::string("Be\0ta", 5)); }, "common_name"},
      {[](auto* d) { d->set_surname("Kowal\nski"); }, "surname"},
      {[](auto* d) { d->set_organization_name(std::string(65, 'O')); }, "organization_name"},
      {[](auto* d) { d->set_common_name(std::string(70000, 'C')); }, "common_name"},
  };
  for (const Bad& bad : cases) {
    pb::GenerateCsrRequest req;
    req.set_name(key.name());
    req.mutable_enrollment_data()->set_common_name("Beta");
    req.mutable_enrollment_data()->set_country_name("PL");
    bad.set(req.mutable_enrollment_data());
    pb::GenerateCsrResponse resp;
    grpc::Status s = Call([&](auto* ctx) { return cli_.enroll->GenerateCsr(ctx, req, &resp); });
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.field;
    EXPECT_NE(s.error_message().find(bad.field), std::string::npos) << s.error_message();
    EXPECT_LT(s.error_message().size(), 300u);
    EXPECT_TRUE(resp.csr_der().empty());
  }
  int audited = 0;
  for (const pb::AuditEvent& e : Events(cli_, "GenerateCsr")) {
    audited += e.status_code() == grpc::StatusCode::INVALID_ARGUMENT;
    EXPECT_TRUE(e.signed_sha256().empty());
  }
  EXPECT_EQ(audited, 4);
}

// A page of audit events is bounded in bytes as well as in count, even over
// a store written before events were bounded.
TEST_F(HostileServerTest, AuditPagesAreBoundedInBytes) {
  {
    std::filesystem::create_directories(dir_ + "/state");
    auto store = audit::SqliteAuditStore::Open(dir_ + "/state/audit.db");
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<audit::AuditEvent> legacy;
    for (int i = 1; i <= 40; ++i) {
      audit::AuditEvent e;
      e.node = "legacy";
      e.seq = i;
      e.time = absl::Now();
      e.operation = "SignAuthToken";
      e.context = std::string(200 << 10, 'C');  // as old servers stored them
      e.prev_hash = std::string(32, '\0');
      e.hash = std::string(32, '\1');
      legacy.push_back(e);
    }
    ASSERT_TRUE((*store)->Append(legacy, audit::Durability::kDurable).ok());
  }
  Start();
  pb::ListAuditEventsRequest req;
  req.set_page_size(1000);
  int legacy_seen = 0, pages = 0;
  while (true) {
    pb::ListAuditEventsResponse resp;
    ASSERT_TRUE(Call([&](auto* ctx) { return cli_.audit->ListAuditEvents(ctx, req, &resp); })
                    .ok());
    ++pages;
    EXPECT_LE(resp.ByteSizeLong(), (1u << 20) + (256u << 10));
    for (const auto& e : resp.events()) legacy_seen += e.node() == "legacy";
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(legacy_seen, 40);
  EXPECT_GE(pages, 8);
}

}  // namespace
}  // namespace ksef
