// TestHaProxy against plain TCP backends: it balances roundrobin, passes the
// bytes through untouched, marks a dead backend DOWN within a few check
// intervals and sends every new connection to the living ones.
#include "tests/support/haproxy.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"

namespace ksef::testing {
namespace {

// Accepts connections on a loopback port and writes its name to each.
class NameServer {
 public:
  explicit NameServer(std::string name) : name_(std::move(name)) {
    listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(::listen(listener_.get(), 64), 0);
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~NameServer() { Stop(); }
  int port() const { return port_; }
  // Stops listening: connections and health checks are refused from now on.
  void Stop() {
    if (stopped_.exchange(true)) return;
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
    listener_.Reset();
  }

 private:
  void Serve() {
    while (!stopped_) {
      UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!connection.valid()) continue;
      (void)!::write(connection.get(), name_.data(), name_.size());
    }
  }
  std::string name_;
  UniqueFd listener_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

// Connects through the balancer and reads the backend's name ("" on failure).
std::string Ask(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return "";
  char buffer[64];
  const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
  return n > 0 ? std::string(buffer, n) : "";
}

TEST(TestHaProxyTest, BalancesAndRoutesAroundADeadBackend) {
  KSEF_SKIP_WITHOUT_HAPROXY();
  NameServer a("a"), b("b");
  auto proxy = TestHaProxy::Start({.backend_ports = {a.port(), b.port()}});
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  ASSERT_TRUE((*proxy)->WaitForBackendsUp(2, absl::Seconds(5)).ok());
  std::map<std::string, int> seen;
  for (int i = 0; i < 10; ++i) ++seen[Ask((*proxy)->port())];
  EXPECT_EQ(seen["a"], 5) << (*proxy)->Log();
  EXPECT_EQ(seen["b"], 5);

  b.Stop();
  const absl::Time stopped = absl::Now();
  ASSERT_TRUE((*proxy)->WaitForBackendsUp(1, absl::Seconds(5)).ok());
  EXPECT_LT(absl::Now() - stopped, absl::Seconds(2));  // 2 checks of 200 ms, and slack
  auto states = (*proxy)->BackendStates();
  ASSERT_TRUE(states.ok()) << states.status();
  EXPECT_EQ((*states)["r0"], "UP");
  EXPECT_EQ((*states)["r1"], "DOWN");
  for (int i = 0; i < 6; ++i) EXPECT_EQ(Ask((*proxy)->port()), "a") << i;
}

TEST(TestHaProxyTest, StopsItsProcessAndRemovesItsDirectory) {
  KSEF_SKIP_WITHOUT_HAPROXY();
  NameServer a("a");
  std::string dir;
  int port = 0;
  {
    auto proxy = TestHaProxy::Start({.backend_ports = {a.port()}});
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    dir = (*proxy)->dir();
    port = (*proxy)->port();
    EXPECT_EQ(Ask(port), "a");
  }
  EXPECT_EQ(Ask(port), "");  // nobody listens there any more
  EXPECT_NE(::access(dir.c_str(), F_OK), 0) << dir;
}

}  // namespace
}  // namespace ksef::testing
