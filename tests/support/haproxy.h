// TestHaProxy: a real HAProxy (the Debian package) in front of test servers,
// as a bank's L4 balancer would be: TCP mode, so TLS and client certificates
// pass through untouched to the replicas (mTLS end to end); roundrobin over
// the backends 127.0.0.1:<port>, each health-checked by a TCP connect every
// `check_interval` (down after 2 failed checks, up after 2 good ones); a
// connection whose backend refuses is retried on another (redispatch).
//
// Start() writes the configuration into a fresh temp dir, runs `haproxy -db
// -f haproxy.cfg` there (log in haproxy.log) on a free loopback port and
// returns once the port accepts connections. The destructor stops it
// (SIGTERM, then SIGKILL after 10 s) and reaps it, and removes the dir.
// A stats socket (admin level) in the dir answers BackendStates().
//
// Without haproxy installed, Start() is FAILED_PRECONDITION with an install
// hint. Tests call KSEF_SKIP_WITHOUT_HAPROXY() first: it skips (with the
// reason) only when haproxy is missing AND KSEF_REQUIRE_HAPROXY is unset;
// scripts/test.sh sets it, so CI never skips silently.
// Thread-compatible.
#ifndef KSEF_TESTS_SUPPORT_HAPROXY_H_
#define KSEF_TESTS_SUPPORT_HAPROXY_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ksef::testing {

struct HaProxyOptions {
  std::vector<int> backend_ports;  // servers r0, r1, ... on 127.0.0.1
  absl::Duration check_interval = absl::Milliseconds(200);
  absl::Duration start_timeout = absl::Seconds(10);
};

class TestHaProxy {
 public:
  static absl::StatusOr<std::unique_ptr<TestHaProxy>> Start(const HaProxyOptions& options);
  ~TestHaProxy();
  TestHaProxy(const TestHaProxy&) = delete;
  TestHaProxy& operator=(const TestHaProxy&) = delete;

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>"
  const std::string& dir() const { return dir_; }
  std::string Log() const;  // haproxy's own output

  // Health-check state of each backend server ("r0" -> "UP", "DOWN", ...),
  // from the stats socket ("show stat").
  absl::StatusOr<std::map<std::string, std::string>> BackendStates() const;
  // Polls BackendStates() until exactly `up` servers are UP and the others
  // DOWN, all settled ("UP 1/2", going down, counts as neither);
  // DEADLINE_EXCEEDED (with the states) after `timeout`.
  absl::Status WaitForBackendsUp(int up, absl::Duration timeout) const;

  // The haproxy binary, or "" when it is not installed.
  static std::string BinaryPath();
  // Why a test should skip: "" when haproxy is installed or
  // KSEF_REQUIRE_HAPROXY is set (then Start() fails instead).
  static std::string SkipReason();

 private:
  TestHaProxy() = default;
  absl::Status WaitUntilAccepting(absl::Duration timeout);
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A loopback TCP port nobody listens on now (the kernel's pick for port 0),
// for servers that must keep their port across restarts; 0 on failure.
int FreeLoopbackPort();

}  // namespace ksef::testing

#define KSEF_SKIP_WITHOUT_HAPROXY()                                             \
  do {                                                                          \
    const std::string ksef_haproxy_skip = ::ksef::testing::TestHaProxy::SkipReason(); \
    if (!ksef_haproxy_skip.empty()) GTEST_SKIP() << ksef_haproxy_skip;          \
  } while (0)

#endif  // KSEF_TESTS_SUPPORT_HAPROXY_H_
