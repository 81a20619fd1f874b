// ClusterFixture: ksef-hsmd replicas (each its own node_id, state_dir and
// port) on ONE SoftHSM2 token directory and ONE PostgreSQL database, used as
// both the audit store and the key registry, behind a real HAProxy in TCP
// mode (mTLS passed through). Shared by the cluster e2e test and
// bench/cluster_bench. Needs haproxy (KSEF_SKIP_WITHOUT_HAPROXY) and the
// test PostgreSQL server (KSEF_TEST_PG).
#ifndef KSEF_TESTS_E2E_CLUSTER_FIXTURE_H_
#define KSEF_TESTS_E2E_CLUSTER_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/haproxy.h"
#include "tests/support/postgres_test_db.h"

namespace ksef {

inline constexpr int kReplicas = 3;  // the usual cluster
inline constexpr char kAuditKeyLabel[] = "ksef-hsm-audit";

// The whole file (empty if unreadable).
std::string Slurp(const std::string& path);

absl::Time ToTime(const google::protobuf::Timestamp& t);

// One replica: its config, port and (while running) process.
struct Replica {
  std::string name;  // node_id
  std::string config;
  int port = 0;
  std::unique_ptr<ServerProcess> process;
};

class ClusterFixture : public E2eFixture {
 protected:
  void SetUp() override {
    KSEF_SKIP_WITHOUT_HAPROXY();
    E2eFixture::SetUp();
    if (HasFatalFailure()) return;
    auto db = ksef::testing::TestPostgresDb::Create("ksef_cluster");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  // The replicas' config on `token`, sharing db_ for both stores; `extra`
  // lines appended (e.g. a short destruction grace period).
  std::string ReplicaConfig(const TestToken& token, int i, int port, const std::string& extra) {
    const std::string path = absl::StrCat(dir_, "/replica-", i, ".conf");
    std::ofstream(path) << "listen_address = 127.0.0.1:" << port << "\n"
                        << "tls_cert_file = pki/server.pem\ntls_key_file = pki/server.key\n"
                        << "tls_client_ca_file = pki/ca.pem\n"
                        << "pkcs11_module = " << TestToken::ModulePath() << "\n"
                        << "token_label = " << token.label() << "\n"
                        << "pin_file = " << token.pin_file() << "\n"
                        << "softhsm2_conf = " << token.conf_path() << "\n"
                        << "token_store_dir = " << token.token_dir() << "\n"
                        << "state_dir = " << state_prefix_ << "-" << i << "\n"
                        << "policy_file = policy.conf\n"
                        << "node_id = replica-" << i << "\n"
                        << "audit_store = postgres\n"
                        << "audit_postgres = \"" << db_->conninfo() << "\"\n"
                        << "registry_store = postgres\n"
                        << "registry_postgres = \"" << db_->conninfo() << "\"\n"
                        << "token_check_interval = 1s\n"
                        << extra;
    return path;
  }

  // Writes the configs of `count` replicas on fixed free ports (a
  // restarted replica keeps its port, as the balancer expects).
  void MakeReplicas(const TestToken& token, const std::string& extra, int count = kReplicas) {
    replicas_.clear();
    for (int i = 0; i < count; ++i) {
      Replica r;
      r.name = absl::StrCat("replica-", i);
      r.port = ksef::testing::FreeLoopbackPort();
      ASSERT_NE(r.port, 0);
      for (const Replica& other : replicas_) ASSERT_NE(r.port, other.port) << "port picked twice";
      r.config = ReplicaConfig(token, i, r.port, extra);
      replicas_.push_back(std::move(r));
    }
  }

  absl::Status StartReplica(Replica& r, const std::string& log_suffix = "") {
    auto process =
        ServerProcess::Start(r.config, absl::StrCat(dir_, "/", r.name, log_suffix, ".log"));
    if (!process.ok()) return process.status();
    r.process = std::move(*process);
    return absl::OkStatus();
  }

  // Starts every replica at the same moment (one thread each); the status
  // of each start.
  std::vector<absl::Status> StartAllAtOnce(const std::string& log_suffix = "") {
    std::vector<absl::Status> results(replicas_.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < replicas_.size(); ++i) {
      threads.emplace_back([&, i] { results[i] = StartReplica(replicas_[i], log_suffix); });
    }
    for (std::thread& t : threads) t.join();
    return results;
  }

  // The usual cluster: `count` replicas on token_, then HAProxy in front.
  void StartCluster(const std::string& extra = "", int count = kReplicas) {
    MakeReplicas(*token_, extra, count);
    if (HasFatalFailure()) return;
    for (Replica& r : replicas_) {
      absl::Status started = StartReplica(r);
      ASSERT_TRUE(started.ok()) << r.name << ": " << started;
    }
    ksef::testing::HaProxyOptions options;
    for (const Replica& r : replicas_) options.backend_ports.push_back(r.port);
    auto proxy = ksef::testing::TestHaProxy::Start(options);
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = std::move(*proxy);
    ASSERT_TRUE(proxy_->WaitForBackendsUp(count, absl::Seconds(10)).ok());
  }

  // StartCluster(), then an ACTIVE Offline key `id` of NIP A (with a test-CA
  // certificate) made through the balancer.
  void StartClusterWithKey(const std::string& id, int count = kReplicas) {
    StartCluster("", count);
    if (HasFatalFailure()) return;
    Caller lb = ViaBalancer();
    ActiveKey(lb, id, kNipA, pb::OFFLINE);
  }

  // A caller with its own TCP connection to `address` (gRPC shares one
  // connection between equal channels; the balancer spreads connections).
  Caller Dial(const std::string& address) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = Slurp(dir_ + "/pki/ca.pem");
    ssl.pem_cert_chain = Slurp(dir_ + "/pki/client.pem");
    ssl.pem_private_key = Slurp(dir_ + "/pki/client.key");
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return Stubs(grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args));
  }
  Caller ViaBalancer() { return Dial(proxy_->address()); }
  Caller Direct(const Replica& r) { return Dial(absl::StrCat("127.0.0.1:", r.port)); }

  static grpc::Status SignInvoice(Caller& c, const std::string& name, int n) {
    pb::OfflineInvoiceCodes codes;
    return Call([&](auto* ctx) { return c.offline->SignOfflineInvoice(ctx, Invoice(name, n), &codes); });
  }
  static grpc::Status GetKey(Caller& c, const std::string& name, pb::Key* key) {
    pb::GetKeyRequest req;
    req.set_name(name);
    return Call([&](auto* ctx) { return c.keys->GetKey(ctx, req, key); });
  }
  // One transition call (&Stub::DisableKey, &Stub::EnableKey, ...) on `name`.
  template <typename Request>
  static grpc::Status Transition(Caller& c,
                                 grpc::Status (pb::KeyService::Stub::*method)(
                                     grpc::ClientContext*, const Request&, pb::Key*),
                                 const std::string& name, pb::Key* key = nullptr) {
    Request req;
    req.set_name(name);
    pb::Key ignored;
    return Call([&](auto* ctx) {
      return ((*c.keys).*method)(ctx, req, key != nullptr ? key : &ignored);
    });
  }

  // Private keys on `token` with CKA_LABEL `label`, as pkcs11-tool lists them.
  static int PrivateKeysLabelled(const TestToken& token, const std::string& label) {
    return static_cast<int>(TokenPrivateKeyLabels(token).count(label));
  }
  // Every private key's label on `token` (a multiset: duplicates count).
  static std::multiset<std::string> TokenPrivateKeyLabels(const TestToken& token) {
    std::string out;
    const int rc = RunCommand(
        absl::StrCat("SOFTHSM2_CONF='", token.conf_path(), "' pkcs11-tool --module '",
                     TestToken::ModulePath(), "' --token-label '", token.label(),
                     "' --login --pin '", token.pin(), "' --list-objects --type privkey"),
        &out);
    EXPECT_EQ(rc, 0) << out;
    std::multiset<std::string> labels;
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      line = absl::StripLeadingAsciiWhitespace(line);
      if (absl::ConsumePrefix(&line, "label:")) {
        labels.insert(std::string(absl::StripAsciiWhitespace(line)));
      }
    }
    return labels;
  }

  std::unique_ptr<ksef::testing::TestPostgresDb> db_;
  std::string state_prefix_ = "state";  // replica i keeps its state in <dir>/<prefix>-<i>
  std::vector<Replica> replicas_;
  std::unique_ptr<ksef::testing::TestHaProxy> proxy_;
};

}  // namespace ksef

#endif  // KSEF_TESTS_E2E_CLUSTER_FIXTURE_H_
