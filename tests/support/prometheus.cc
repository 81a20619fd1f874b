#include "tests/support/prometheus.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/unique_fd.h"
#include "tests/support/haproxy.h"
#include "tests/support/softhsm_token.h"
#include "tests/support/server_process.h"

namespace ksef::testing {
namespace {

constexpr char kInstallHint[] =
    "prometheus or promtool is not installed: run scripts/install-deps.sh (apt-get install "
    "prometheus)";

std::string FirstExecutable(std::initializer_list<const char*> paths) {
  for (const char* path : paths) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

std::string Config(const PrometheusOptions& options) {
  std::string targets;
  for (int port : options.target_ports) {
    absl::StrAppend(&targets, targets.empty() ? "" : ", ", "'127.0.0.1:", port, "'");
  }
  std::string rules;
  for (const std::string& file : options.rule_files) absl::StrAppend(&rules, "  - ", file, "\n");
  return absl::StrCat("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n",
                      rules.empty() ? "" : "rule_files:\n", rules,
                      "scrape_configs:\n  - job_name: ksef-hsm\n    static_configs:\n"
                      "      - targets: [", targets, "]\n");
}

}  // namespace

absl::StatusOr<HttpAnswer> HttpGet(int port, const std::string& path_and_query) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!fd.valid() ||
      ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to 127.0.0.1:", port));
  }
  const std::string request =
      absl::StrCat("GET ", path_and_query, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (::write(fd.get(), request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    return absl::UnavailableError("cannot send the request");
  }
  std::string response;
  char buffer[8192];
  ssize_t n;
  while ((n = ::read(fd.get(), buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  const size_t space = response.find(' ');
  const size_t body = response.find("\r\n\r\n");
  HttpAnswer answer;
  if (space == std::string::npos || body == std::string::npos ||
      !absl::SimpleAtoi(response.substr(space + 1, 3), &answer.code)) {
    return absl::UnavailableError(absl::StrCat("not an HTTP answer: ", response.substr(0, 200)));
  }
  answer.body = response.substr(body + 4);
  return answer;
}

std::string UrlEncode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

std::string TestPrometheus::BinaryPath() {
  return FirstExecutable({"/usr/bin/prometheus", "/usr/local/bin/prometheus"});
}

std::string TestPrometheus::PromtoolPath() {
  return FirstExecutable({"/usr/bin/promtool", "/usr/local/bin/promtool"});
}

std::string TestPrometheus::SkipReason() {
  if (!BinaryPath().empty() && !PromtoolPath().empty()) return "";
  const char* required = std::getenv("KSEF_REQUIRE_PROMETHEUS");
  if (required != nullptr && *required != '\0' && std::string(required) != "0") return "";
  return absl::StrCat(kInstallHint, "; skipped because KSEF_REQUIRE_PROMETHEUS is unset "
                                    "(scripts/test.sh sets it: there this is a failure)");
}

absl::StatusOr<std::unique_ptr<TestPrometheus>> TestPrometheus::Start(
    const PrometheusOptions& options) {
  const std::string binary = BinaryPath();
  if (binary.empty()) return absl::FailedPreconditionError(kInstallHint);
  std::unique_ptr<TestPrometheus> prometheus(new TestPrometheus());
  prometheus->dir_ = MakeTempDir("ksef-prometheus");
  prometheus->port_ = FreeLoopbackPort();
  if (prometheus->dir_.empty() || prometheus->port_ == 0) {
    return absl::InternalError("no temp dir or free loopback port for prometheus");
  }
  const std::string config = prometheus->dir_ + "/prometheus.yml";
  std::ofstream(config) << Config(options);
  const std::string log = prometheus->dir_ + "/prometheus.log";
  const std::string config_flag = "--config.file=" + config;
  const std::string storage_flag = "--storage.tsdb.path=" + prometheus->dir_ + "/data";
  const std::string listen_flag =
      absl::StrCat("--web.listen-address=127.0.0.1:", prometheus->port_);
  prometheus->pid_ = ::fork();
  if (prometheus->pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a test that crashed
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(binary.c_str(), binary.c_str(), config_flag.c_str(), storage_flag.c_str(),
            listen_flag.c_str(), nullptr);
    ::_exit(127);
  }
  if (prometheus->pid_ < 0) return absl::InternalError("fork failed");
  absl::Status ready = prometheus->WaitUntilReady(options.start_timeout);
  if (!ready.ok()) return ready;
  return prometheus;
}

absl::Status TestPrometheus::WaitUntilReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    auto answer = HttpGet(port_, "/-/ready");
    if (answer.ok() && answer->code == 200) return absl::OkStatus();
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("prometheus exited at start-up (status ", status, "):\n", Log()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("prometheus is not ready on port ", port_,
                                                  " after ", absl::FormatDuration(timeout),
                                                  ":\n", Log()));
}

TestPrometheus::~TestPrometheus() {
  if (pid_ > 0) {
    TerminateAndReap(pid_, absl::Seconds(10));
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string TestPrometheus::Log() const {
  std::ifstream in(dir_ + "/prometheus.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::string> TestPrometheus::Get(const std::string& path_and_query) const {
  auto answer = HttpGet(port_, path_and_query);
  if (!answer.ok()) return answer.status();
  if (answer->code != 200) {
    return absl::FailedPreconditionError(
        absl::StrCat("GET ", path_and_query, ": HTTP ", answer->code, ": ", answer->body));
  }
  return answer->body;
}

absl::StatusOr<std::string> TestPrometheus::QueryValue(const std::string& expr) const {
  auto body = Get("/api/v1/query?query=" + UrlEncode(expr));
  if (!body.ok()) return body.status();
  // {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},
  //  "value":[1767225600.123,"25"]}]}}
  const size_t value = body->find("\"value\":[");
  if (value == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("no sample for ", expr, ": ", *body));
  }
  const size_t open = body->find('"', body->find(',', value));
  const size_t close = body->find('"', open + 1);
  if (open == std::string::npos || close == std::string::npos) {
    return absl::InternalError(absl::StrCat("unexpected answer: ", *body));
  }
  return body->substr(open + 1, close - open - 1);
}

absl::Status TestPrometheus::WaitForValue(const std::string& expr, const std::string& want,
                                          absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<std::string> last = absl::NotFoundError("not queried");
  while (absl::Now() < deadline) {
    last = QueryValue(expr);
    if (last.ok() && *last == want) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(expr, " is not ", want, " after ", absl::FormatDuration(timeout), ": ",
                   last.ok() ? *last : std::string(last.status().message())));
}

}  // namespace ksef::testing
