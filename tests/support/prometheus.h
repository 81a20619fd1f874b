// TestPrometheus: a real Prometheus server (the Debian package `prometheus`)
// scraping test servers, for the metrics tests.
//
// Start() writes prometheus.yml into a fresh temp dir (scrape and rule
// evaluation every second, the given targets as job "ksef-hsm", the given
// rule files), runs `prometheus` there on a free loopback port with its TSDB
// in the dir (log in prometheus.log) and returns once /-/ready answers. The
// destructor stops it (SIGTERM, then SIGKILL after 10 s), reaps it and
// removes the dir.
//
// Without prometheus installed, Start() is FAILED_PRECONDITION with an
// install hint. Tests call KSEF_SKIP_WITHOUT_PROMETHEUS() first: it skips
// (with the reason) only when prometheus or promtool is missing AND
// KSEF_REQUIRE_PROMETHEUS is unset; scripts/test.sh sets it, so CI never
// skips silently.
// Thread-compatible.
#ifndef KSEF_TESTS_SUPPORT_PROMETHEUS_H_
#define KSEF_TESTS_SUPPORT_PROMETHEUS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ksef::testing {

struct PrometheusOptions {
  std::vector<int> target_ports;        // scraped at 127.0.0.1:<port>/metrics
  std::vector<std::string> rule_files;  // absolute paths
  absl::Duration start_timeout = absl::Seconds(30);
};

class TestPrometheus {
 public:
  static absl::StatusOr<std::unique_ptr<TestPrometheus>> Start(const PrometheusOptions& options);
  ~TestPrometheus();
  TestPrometheus(const TestPrometheus&) = delete;
  TestPrometheus& operator=(const TestPrometheus&) = delete;

  int port() const { return port_; }
  std::string Log() const;

  // GET `path_and_query` from its HTTP API; the body of a 200 answer.
  absl::StatusOr<std::string> Get(const std::string& path_and_query) const;
  // The value of the first sample of an instant query (/api/v1/query), as
  // Prometheus writes it ("1798761600", "25"); NOT_FOUND while the result
  // is empty.
  absl::StatusOr<std::string> QueryValue(const std::string& expr) const;
  // Polls QueryValue until it returns `want`; DEADLINE_EXCEEDED (with the
  // last answer) after `timeout`.
  absl::Status WaitForValue(const std::string& expr, const std::string& want,
                            absl::Duration timeout) const;

  // The binaries, or "" when not installed.
  static std::string BinaryPath();
  static std::string PromtoolPath();
  // Why a test should skip: "" when both are installed or
  // KSEF_REQUIRE_PROMETHEUS is set (then the test fails instead).
  static std::string SkipReason();

 private:
  TestPrometheus() = default;
  absl::Status WaitUntilReady(absl::Duration timeout);
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A minimal HTTP/1.0 GET of 127.0.0.1:<port><path_and_query>: the status
// line's code and the body.
struct HttpAnswer {
  int code = 0;
  std::string body;
};
absl::StatusOr<HttpAnswer> HttpGet(int port, const std::string& path_and_query);

// Percent-encodes a URL query value (RFC 3986 unreserved characters stay).
std::string UrlEncode(const std::string& value);

}  // namespace ksef::testing

#define KSEF_SKIP_WITHOUT_PROMETHEUS()                                                     \
  do {                                                                                     \
    const std::string ksef_prometheus_skip = ::ksef::testing::TestPrometheus::SkipReason(); \
    if (!ksef_prometheus_skip.empty()) GTEST_SKIP() << ksef_prometheus_skip;                \
  } while (0)

#endif  // KSEF_TESTS_SUPPORT_PROMETHEUS_H_
