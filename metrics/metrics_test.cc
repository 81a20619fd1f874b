// Metrics and MetricsEndpoint: the text a scrape gets (names, labels,
// values), the bounds on labels, and that the endpoint serves /metrics only.
#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "metrics/metrics_endpoint.h"

namespace ksef::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGetKey[] = "/ksef.hsm.v1.KeyService/GetKey";
constexpr char kSignAuth[] = "/ksef.hsm.v1.AuthService/SignAuthToken";

Metrics MakeMetrics() { return Metrics({kGetKey, kSignAuth}); }

TEST(MetricsTest, CountsCallsByServiceMethodAndCode) {
  Metrics m = MakeMetrics();
  const RpcMetrics* get_key = m.Rpc(kGetKey);
  m.CountRpc(get_key, 0);
  m.CountRpc(get_key, 0);
  m.CountRpc(get_key, 5);
  m.CountRpc(m.Rpc(kSignAuth), 14);
  const std::string text = m.Serialize();
  EXPECT_THAT(text, HasSubstr("# TYPE ksef_hsm_grpc_calls_total counter"));
  EXPECT_THAT(text, HasSubstr(
      "ksef_hsm_grpc_calls_total{code=\"OK\",method=\"GetKey\",service=\"ksef.hsm.v1.KeyService\"} 2"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_grpc_calls_total{code=\"NOT_FOUND\",method=\"GetKey\","
                              "service=\"ksef.hsm.v1.KeyService\"} 1"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_grpc_calls_total{code=\"UNAVAILABLE\",method=\"SignAuthToken\","
                              "service=\"ksef.hsm.v1.AuthService\"} 1"));
  // A code never seen has no series (children are made on first use).
  EXPECT_THAT(text, Not(HasSubstr("code=\"INTERNAL\"")));
}

TEST(MetricsTest, UnknownMethodsAndCodesShareBoundedLabels) {
  Metrics m = MakeMetrics();
  // What a caller can send as a method name never becomes a label.
  m.CountRpc(m.Rpc("/evil.Service/nip-5265877635"), 12);
  m.CountRpc(m.Rpc("/ksef.hsm.v1.KeyService/GetKeyX"), 12);
  m.CountRpc(m.Rpc(kGetKey), 99);
  m.CountRpc(m.Rpc(kGetKey), -1);
  const std::string text = m.Serialize();
  EXPECT_THAT(text, Not(HasSubstr("evil")));
  EXPECT_THAT(text, Not(HasSubstr("5265877635")));
  EXPECT_THAT(text, Not(HasSubstr("GetKeyX")));
  EXPECT_THAT(text, HasSubstr(
      "ksef_hsm_grpc_calls_total{code=\"UNIMPLEMENTED\",method=\"other\",service=\"other\"} 2"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_grpc_calls_total{code=\"UNKNOWN\",method=\"GetKey\","
                              "service=\"ksef.hsm.v1.KeyService\"} 2"));
}

TEST(MetricsTest, SigningHistogramsByOperationAndAlgorithm) {
  Metrics m = MakeMetrics();
  m.ObserveSign(SignOperation::kOfflineInvoice, crypto::KeyAlgorithm::kEcP256,
                absl::Milliseconds(3));
  m.ObserveSign(SignOperation::kOfflineInvoice, crypto::KeyAlgorithm::kEcP256,
                absl::Milliseconds(30));
  m.ObserveSign(SignOperation::kAuditCheckpoint, crypto::KeyAlgorithm::kEcP256,
                absl::Milliseconds(1));
  m.ObserveTokenSign(crypto::KeyAlgorithm::kRsa2048, absl::Microseconds(700));
  const std::string text = m.Serialize();
  EXPECT_THAT(text, HasSubstr("# TYPE ksef_hsm_sign_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_sign_duration_seconds_count{algorithm=\"EC_P256\","
                              "operation=\"offline_invoice\"} 2"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_sign_duration_seconds_sum{algorithm=\"EC_P256\","
                              "operation=\"offline_invoice\"} 0.033"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_sign_duration_seconds_bucket{algorithm=\"EC_P256\","
                              "operation=\"offline_invoice\",le=\"0.005\"} 1"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_sign_duration_seconds_count{algorithm=\"EC_P256\","
                              "operation=\"audit_checkpoint\"} 1"));
  EXPECT_THAT(text, HasSubstr(
      "ksef_hsm_token_sign_duration_seconds_count{algorithm=\"RSA_2048\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("operation=\"auth_token\"")));
}

TEST(MetricsTest, AuditCommitsPolicyReloadsAndBuildInfo) {
  Metrics m = MakeMetrics();
  m.ObserveAuditCommit(1, absl::Milliseconds(2));
  m.ObserveAuditCommit(100, absl::Milliseconds(4));
  m.CountPolicyReload(true);
  m.CountPolicyReload(false);
  m.CountPolicyReload(false);
  m.SetBuildInfo("0.0.1", "old");
  m.SetBuildInfo("0.1.0", "abc123");
  const std::string text = m.Serialize();
  EXPECT_THAT(text, HasSubstr("ksef_hsm_audit_commit_duration_seconds_count 2"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_audit_commit_batch_events_bucket{le=\"1\"} 1"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_audit_commit_batch_events_bucket{le=\"64\"} 1"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_audit_commit_batch_events_bucket{le=\"128\"} 2"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_audit_commit_batch_events_sum 101"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_policy_reloads_total{result=\"ok\"} 1"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_policy_reloads_total{result=\"failed\"} 2"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_build_info{revision=\"abc123\",version=\"0.1.0\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("revision=\"old\"")));
}

TEST(MetricsTest, PulledGaugesComeFromTheSourcesAtEachScrape) {
  Metrics m = MakeMetrics();
  int scrapes = 0;
  Sources sources;
  sources.token = [&] {
    ++scrapes;
    TokenSnapshot t;
    t.serving = false;
    t.reconnects = 3;
    t.session_pool_size = 8;
    t.sessions_open = 5;
    t.sessions_in_use = 2;
    t.sessions_waiting = 1;
    t.signs_in_flight = 4;
    t.signs_waiting = 7;
    return t;
  };
  sources.audit = [] {
    AuditSnapshot a;
    a.healthy = true;
    a.events_since_checkpoint = 12;
    a.last_checkpoint = absl::FromUnixSeconds(1767225600);
    return a;
  };
  sources.keys = [] {
    KeysSnapshot k;
    k.keys.push_back({"auth-1", absl::FromUnixSeconds(1798761600), std::nullopt});
    k.keys.push_back({"offline-2", std::nullopt, 499});
    k.omitted = 6;
    return k;
  };
  m.SetSources(std::move(sources));
  const std::string text = m.Serialize();
  EXPECT_EQ(scrapes, 1);
  EXPECT_THAT(text, HasSubstr("ksef_hsm_token_state{state=\"serving\"} 0"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_token_state{state=\"recovering\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE ksef_hsm_token_reconnects_total counter"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_token_reconnects_total 3"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_session_pool_size 8"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_sessions_open 5"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_sessions_in_use 2"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_sessions_waiting 1"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_signs_in_flight 4"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_signs_waiting 7"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_audit_log_healthy 1"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_audit_events_since_checkpoint 12"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_audit_last_checkpoint_timestamp_seconds 1767225600"));
  EXPECT_THAT(text, HasSubstr(
      "ksef_hsm_key_certificate_not_after_timestamp_seconds{key_id=\"auth-1\"} 1798761600"));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_key_signatures_remaining{key_id=\"offline-2\"} 499"));
  EXPECT_THAT(text, Not(HasSubstr("ksef_hsm_key_signatures_remaining{key_id=\"auth-1\"}")));
  EXPECT_THAT(text, HasSubstr("ksef_hsm_key_metrics_omitted 6"));
  m.Serialize();
  EXPECT_EQ(scrapes, 2);
}

// GET `path` from 127.0.0.1:`port`; the whole response (HTTP/1.0: the
// server closes the connection after it).
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "write failed";
  }
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  close(fd);
  return response;
}

TEST(MetricsEndpointTest, ServesMetricsOnlyAtSlashMetrics) {
  Metrics m = MakeMetrics();
  m.SetBuildInfo("0.1.0", "unknown");
  auto endpoint = MetricsEndpoint::Start(m, "127.0.0.1:0");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  ASSERT_GT((*endpoint)->port(), 0);
  const std::string metrics = HttpGet((*endpoint)->port(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("200 OK"));
  EXPECT_THAT(metrics, HasSubstr("ksef_hsm_build_info{revision=\"unknown\",version=\"0.1.0\"} 1"));
  for (const char* path : {"/", "/metrics/../etc/passwd", "/etc/passwd", "/index.html"}) {
    const std::string other = HttpGet((*endpoint)->port(), path);
    EXPECT_THAT(other, HasSubstr("404")) << path;
    EXPECT_THAT(other, Not(HasSubstr("ksef_hsm_"))) << path;
    EXPECT_THAT(other, Not(HasSubstr("root:"))) << path;
  }
}

TEST(MetricsEndpointTest, ATakenPortIsUnavailableNamingTheAddress) {
  Metrics m = MakeMetrics();
  auto first = MetricsEndpoint::Start(m, "127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = MetricsEndpoint::Start(m, taken);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(taken));
}

}  // namespace
}  // namespace ksef::metrics
