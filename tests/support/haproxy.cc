#include "tests/support/haproxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/unique_fd.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/server_process.h"

namespace ksef::testing {
namespace {

constexpr char kInstallHint[] =
    "haproxy is not installed: run scripts/install-deps.sh (apt-get install haproxy)";

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

bool Accepts(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = Loopback(port);
  return fd.valid() &&
         ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
}

std::string Config(const HaProxyOptions& options, const std::string& dir, int port) {
  const int64_t inter = absl::ToInt64Milliseconds(options.check_interval);
  std::string servers;
  for (size_t i = 0; i < options.backend_ports.size(); ++i) {
    absl::StrAppend(&servers, "  server r", i, " 127.0.0.1:", options.backend_ports[i],
                    " check inter ", inter, "ms fall 2 rise 2\n");
  }
  return absl::StrCat(
      "global\n"
      "  maxconn 4096\n"
      "  stats socket ", dir, "/haproxy.sock mode 600 level admin\n"
      "defaults\n"
      "  mode tcp\n"
      "  timeout connect 2s\n"
      "  timeout client 10m\n"
      "  timeout server 10m\n"
      "  retries 3\n"
      "  option redispatch 1\n"
      "frontend ksef\n"
      "  bind 127.0.0.1:", port, "\n"
      "  default_backend replicas\n"
      "backend replicas\n"
      "  balance roundrobin\n",
      servers);
}

// Answer of one stats socket command.
absl::StatusOr<std::string> StatsCommand(const std::string& socket_path,
                                         const std::string& command) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", socket_path));
  }
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  if (!fd.valid() ||
      ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the haproxy stats socket ", socket_path, ": ",
                     std::strerror(errno)));
  }
  const std::string line = command + "\n";
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return absl::UnavailableError("cannot write to the haproxy stats socket");
  }
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buffer, sizeof(buffer))) > 0) answer.append(buffer, n);
  return answer;
}

}  // namespace

int FreeLoopbackPort() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof(address);
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return 0;
  }
  return ntohs(address.sin_port);
}

std::string TestHaProxy::BinaryPath() {
  for (const char* path : {"/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

std::string TestHaProxy::SkipReason() {
  if (!BinaryPath().empty()) return "";
  const char* required = std::getenv("KSEF_REQUIRE_HAPROXY");
  if (required != nullptr && *required != '\0' && std::string(required) != "0") return "";
  return absl::StrCat(kInstallHint, "; skipped because KSEF_REQUIRE_HAPROXY is unset "
                                    "(scripts/test.sh sets it: there this is a failure)");
}

absl::StatusOr<std::unique_ptr<TestHaProxy>> TestHaProxy::Start(const HaProxyOptions& options) {
  const std::string binary = BinaryPath();
  if (binary.empty()) return absl::FailedPreconditionError(kInstallHint);
  std::unique_ptr<TestHaProxy> proxy(new TestHaProxy());
  proxy->dir_ = MakeTempDir("ksef-haproxy");
  proxy->port_ = FreeLoopbackPort();
  if (proxy->dir_.empty() || proxy->port_ == 0) {
    return absl::InternalError("no temp dir or free loopback port for haproxy");
  }
  const std::string config = proxy->dir_ + "/haproxy.cfg";
  std::ofstream(config) << Config(options, proxy->dir_, proxy->port_);
  const std::string log = proxy->dir_ + "/haproxy.log";
  proxy->pid_ = ::fork();
  if (proxy->pid_ == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(binary.c_str(), binary.c_str(), "-db", "-f", config.c_str(), nullptr);
    ::_exit(127);
  }
  if (proxy->pid_ < 0) return absl::InternalError("fork failed");
  absl::Status accepting = proxy->WaitUntilAccepting(options.start_timeout);
  if (!accepting.ok()) return accepting;
  return proxy;
}

absl::Status TestHaProxy::WaitUntilAccepting(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (Accepts(port_)) return absl::OkStatus();
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("haproxy exited at start-up (status ", status, "):\n", Log()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("haproxy does not accept on ", address(), " after ",
                   absl::FormatDuration(timeout), ":\n", Log()));
}

TestHaProxy::~TestHaProxy() {
  if (pid_ > 0) {
    TerminateAndReap(pid_, absl::Seconds(10));
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string TestHaProxy::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::string TestHaProxy::Log() const {
  std::ifstream in(dir_ + "/haproxy.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::map<std::string, std::string>> TestHaProxy::BackendStates() const {
  absl::StatusOr<std::string> csv = StatsCommand(dir_ + "/haproxy.sock", "show stat");
  if (!csv.ok()) return csv.status();
  // "# pxname,svname,...": the status is the 18th field.
  constexpr size_t kStatus = 17;
  std::map<std::string, std::string> states;
  for (absl::string_view line : absl::StrSplit(*csv, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    if (fields.size() <= kStatus || fields[0] != "replicas") continue;
    if (fields[1] == "BACKEND") continue;
    states[std::string(fields[1])] = std::string(fields[kStatus]);
  }
  return states;
}

absl::Status TestHaProxy::WaitForBackendsUp(int up, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (true) {
    absl::StatusOr<std::map<std::string, std::string>> states = BackendStates();
    // Settled: "UP" or "DOWN"; "UP 1/2" is going down, "DOWN 1/2" going up.
    int count_up = 0, count_down = 0;
    if (states.ok()) {
      for (const auto& [server, state] : *states) {
        count_up += state == "UP" ? 1 : 0;
        count_down += state == "DOWN" ? 1 : 0;
      }
      last = absl::StrJoin(*states, ", ", absl::PairFormatter("="));
    } else {
      last = std::string(states.status().message());
    }
    if (states.ok() && count_up == up && count_up + count_down == static_cast<int>(states->size())) {
      return absl::OkStatus();
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("haproxy: waited ", absl::FormatDuration(timeout), " for ", up,
                       " backends UP; now ", last));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace ksef::testing
