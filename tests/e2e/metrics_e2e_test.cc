// The metrics endpoint of the real ksef-hsmd, scraped by a real Prometheus
// (issue 16): the certificate expiry of a key, a sign count equal to the
// calls made and the shipped alert rules loaded and evaluated; the raw
// scrape passes `promtool check metrics` and shows no subject, NIP or path.
// Needs the Debian package prometheus (label ops).
#include <gmock/gmock.h>

#include <fstream>

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/numbers.h"
#include "absl/synchronization/notification.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/prometheus.h"

namespace ksef {
namespace {

using ::ksef::testing::HttpGet;
using ::ksef::testing::PrometheusOptions;
using ::ksef::testing::TestPrometheus;
using ::testing::HasSubstr;
using ::testing::Not;

using MetricsE2eTest = E2eFixture;

constexpr int kSigns = 20;
constexpr int kUsageLimit = 100;

// The port of "metrics on http://... (port N, plain HTTP)" in the server log.
int MetricsPort(const std::string& log) {
  const size_t line = log.find("metrics on http://");
  if (line == std::string::npos) return 0;
  const size_t port = log.find("(port ", line);
  int value = 0;
  if (port == std::string::npos ||
      !absl::SimpleAtoi(log.substr(port + 6, log.find(',', port) - port - 6), &value)) {
    return 0;
  }
  return value;
}

TEST_F(MetricsE2eTest, OffByDefault) {
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(MetricsPort((*server)->Log()), 0) << (*server)->Log();
}

// A raw unary call of `method` with `wire` as the request bytes.
grpc::Status RawCall(Caller& c, const std::string& method, const std::string& wire) {
  grpc::GenericStub stub(c.channel);
  grpc::Slice slice(wire);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext ctx;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

// What any caller can send (a method name, bytes that do not parse, no
// certificate at all) is counted under the fixed labels, never as a label.
TEST_F(MetricsE2eTest, HostileCallsCountOnlyUnderBoundedLabels) {
  std::ofstream(config_, std::ios::app) << "metrics_listen = 127.0.0.1:0\n";
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  const int metrics_port = MetricsPort((*server)->Log());
  ASSERT_GT(metrics_port, 0) << (*server)->Log();
  Caller cli = Connect((*server)->port(), "client");
  Caller anonymous = Connect((*server)->port(), "");
  const std::string evil = absl::StrCat("/evil.Service/nip-", kNipB);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(RawCall(cli, evil, "").error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  // GetKeyRequest.name (field 1) holding bytes that are not UTF-8.
  EXPECT_EQ(RawCall(cli, "/ksef.hsm.v1.KeyService/GetKey", std::string("\x0a\x02\xff\xfe", 4))
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  pb::GetKeyRequest get;
  get.set_name(absl::StrCat("keys/nip-", kNipB));
  pb::Key key;
  EXPECT_EQ(Call([&](auto* ctx) { return anonymous.keys->GetKey(ctx, get, &key); }).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  auto scrape = HttpGet(metrics_port, "/metrics");
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_THAT(scrape->body, Not(HasSubstr("evil")));
  EXPECT_THAT(scrape->body, HasSubstr("ksef_hsm_grpc_calls_total{code=\"UNIMPLEMENTED\","
                                      "method=\"other\",service=\"other\"} 3"));
  EXPECT_THAT(scrape->body, Not(HasSubstr(kNipB)));
  EXPECT_THAT(scrape->body, HasSubstr("ksef_hsm_grpc_calls_total{code=\"INVALID_ARGUMENT\","
                                      "method=\"GetKey\",service=\"ksef.hsm.v1.KeyService\"} 1"));
  EXPECT_THAT(scrape->body, HasSubstr("ksef_hsm_grpc_calls_total{code=\"UNAUTHENTICATED\","
                                      "method=\"GetKey\",service=\"ksef.hsm.v1.KeyService\"} 1"));
}

TEST_F(MetricsE2eTest, RealPrometheusSeesExpirySignCountAndLoadsTheAlertRules) {
  KSEF_SKIP_WITHOUT_PROMETHEUS();
  std::ofstream(config_, std::ios::app) << "metrics_listen = 127.0.0.1:0\n";
  auto server = ServerProcess::Start(config_, dir_ + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  const int metrics_port = MetricsPort((*server)->Log());
  ASSERT_GT(metrics_port, 0) << (*server)->Log();

  Caller cli = Connect((*server)->port(), "client");
  ActiveKey(cli, "metrics-off", kNipA, pb::OFFLINE, absl::Hours(24), kUsageLimit);
  pb::GetKeyRequest get;
  get.set_name("keys/metrics-off");
  pb::Key key;
  ASSERT_TRUE(Call([&](auto* ctx) { return cli.keys->GetKey(ctx, get, &key); }).ok());
  const std::string not_after = absl::StrCat(key.certificate().not_after().seconds());
  for (int i = 0; i < kSigns; ++i) {
    pb::OfflineInvoiceCodes codes;
    const pb::SignOfflineInvoiceRequest req = Invoice("keys/metrics-off", i);
    grpc::Status s =
        Call([&](auto* ctx) { return cli.offline->SignOfflineInvoice(ctx, req, &codes); });
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // The raw scrape: well-formed for promtool, and nothing about who the keys
  // belong to (an unauthenticated scraper reads it).
  auto scrape = HttpGet(metrics_port, "/metrics");
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  ASSERT_EQ(scrape->code, 200) << scrape->body;
  const std::string scrape_file = dir_ + "/scrape.txt";
  std::ofstream(scrape_file) << scrape->body;
  std::string out;
  EXPECT_EQ(RunCommand(absl::StrCat(TestPrometheus::PromtoolPath(), " check metrics < ",
                                    scrape_file),
                       &out),
            0)
      << out;
  EXPECT_THAT(scrape->body, HasSubstr("key_id=\"metrics-off\""));
  for (const std::string& secret :
       {std::string(kNipA), std::string("CN="), std::string("Beta"), dir_, token_->label()}) {
    EXPECT_THAT(scrape->body, Not(HasSubstr(secret))) << secret;
  }

  const char* src = std::getenv("KSEF_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  PrometheusOptions options;
  options.target_ports = {metrics_port};
  options.rule_files = {absl::StrCat(src, "/packaging/prometheus/ksef-hsm-rules.yml")};
  auto prometheus = TestPrometheus::Start(options);
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  const TestPrometheus& p = **prometheus;
  // Polls Prometheus until `expr` is `want` (it scrapes and evaluates every second).
  const auto expect_value = [&p](const std::string& expr, const std::string& want) {
    absl::Status s = p.WaitForValue(expr, want, absl::Seconds(30) * TimeScale());
    EXPECT_TRUE(s.ok()) << s;
  };
  expect_value("ksef_hsm_key_certificate_not_after_timestamp_seconds{key_id=\"metrics-off\"}",
               not_after);
  expect_value("ksef_hsm_sign_duration_seconds_count{operation=\"offline_invoice\","
               "algorithm=\"EC_P256\"}",
               absl::StrCat(kSigns));
  expect_value("sum(ksef_hsm_grpc_calls_total{method=\"SignOfflineInvoice\",code=\"OK\"})",
               absl::StrCat(kSigns));
  // The CSR counts as a use of the key too.
  expect_value("ksef_hsm_key_signatures_remaining{key_id=\"metrics-off\"}",
               absl::StrCat(kUsageLimit - kSigns - 1));
  expect_value("ksef_hsm_token_state{state=\"serving\"}", "1");

  auto rules = p.Get("/api/v1/rules");
  ASSERT_TRUE(rules.ok()) << rules.status();
  for (const char* alert :
       {"KsefHsmCertificateExpiresSoon", "KsefHsmNoAuditCheckpoint", "KsefHsmTokenNotServing"}) {
    EXPECT_THAT(*rules, HasSubstr(absl::StrCat("\"name\":\"", alert, "\""))) << alert;
  }
  EXPECT_THAT(*rules, Not(HasSubstr("\"health\":\"err\""))) << *rules;
  // The rule evaluates against the scraped data: the 24-hour certificate is
  // within 30 days, so its alert is pending (for: 1h).
  expect_value("ALERTS{alertname=\"KsefHsmCertificateExpiresSoon\",key_id=\"metrics-off\","
               "alertstate=\"pending\"}",
               "1");
}

}  // namespace
}  // namespace ksef
