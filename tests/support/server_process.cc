#include "tests/support/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ksef::testing {
namespace {

pid_t Spawn(const std::string& config_path, const std::string& log_path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 2);
      ::dup2(fd, 1);
    }
    std::string bin = ServerProcess::BinaryPath();
    ::execl(bin.c_str(), bin.c_str(), "--config", config_path.c_str(), nullptr);
    ::_exit(127);
  }
  return pid;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for `pid` up to `timeout`; returns the exit code or -1 if still running.
int WaitFor(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return ExitCode(status);
    if (absl::Now() > deadline) return -1;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace

std::string ServerProcess::BinaryPath() {
  const char* dir = std::getenv("KSEF_BUILD_DIR");
  return absl::StrCat(dir != nullptr ? dir : ".", "/service/ksef-hsmd");
}

std::string ServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Launch(
    const std::string& config_path, const std::string& log_path, absl::Duration timeout,
    const std::function<bool(const std::string& log, int* port)>& ready) {
  std::ofstream(log_path, std::ios::app).close();
  size_t log_start = 0;
  {
    std::ifstream in(log_path, std::ios::ate);
    log_start = static_cast<size_t>(in.tellg());
  }
  pid_t pid = Spawn(config_path, log_path);
  if (pid < 0) return absl::InternalError("fork failed");
  std::unique_ptr<ServerProcess> p(new ServerProcess(pid, log_path));
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::string log = p->Log().substr(log_start);
    if (ready(log, &p->port_)) return p;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      p->exited_ = true;
      return absl::FailedPreconditionError(
          absl::StrCat("ksef-hsmd exited with ", ExitCode(status), ":\n", log));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("ksef-hsmd did not start:\n", p->Log()));
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(const std::string& config_path,
                                                                    const std::string& log_path,
                                                                    absl::Duration timeout) {
  static const std::regex kServing(R"(serving on \S+ \(port (\d+))");
  return Launch(config_path, log_path, timeout, [](const std::string& log, int* port) {
    std::smatch m;
    if (!std::regex_search(log, m, kServing)) return false;
    *port = std::atoi(m[1].str().c_str());
    return true;
  });
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::StartUntilLog(
    const std::string& config_path, const std::string& log_path, const std::string& log_text,
    absl::Duration timeout) {
  return Launch(config_path, log_path, timeout, [&log_text](const std::string& log, int*) {
    return log.find(log_text) != std::string::npos;
  });
}

int ServerProcess::Stop(int signal, absl::Duration timeout) {
  if (exited_) return -1;
  ::kill(pid_, signal);
  int code = WaitFor(pid_, timeout);
  if (code == -1) {
    ::kill(pid_, SIGKILL);
    code = WaitFor(pid_, absl::Seconds(10));
  }
  exited_ = true;
  return code;
}

int ServerProcess::RunToExit(const std::string& config_path, const std::string& log_path,
                             absl::Duration timeout) {
  pid_t pid = Spawn(config_path, log_path);
  int code = WaitFor(pid, timeout);
  if (code == -1) {
    ::kill(pid, SIGKILL);
    WaitFor(pid, absl::Seconds(10));
  }
  return code;
}

ServerProcess::~ServerProcess() {
  if (!exited_) Stop(SIGKILL, absl::Seconds(10));
}

void WriteFullAccessPolicy(const std::string& path, const std::string& extra) {
  std::ofstream(path) << "identity cli subject=\"CN=ksef-hsm-cli\" issuer=\"CN=ksef-hsm local CA\"\n"
                      << "grant cli key-admin,enrollment,auth-signing,offline-signing,"
                         "audit-reading *\n"
                      << extra;
}

absl::Status IssueClientCertificate(const std::string& pki_dir, const std::string& name,
                                    const std::string& common_name) {
  const std::string base = absl::StrCat(pki_dir, "/", name);
  const std::string script = absl::StrCat(
      "set -e; cd '", pki_dir, "'; ",
      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '", base, ".key' ",
      "2>/dev/null; chmod 600 '", base, ".key'; ",
      "printf 'extendedKeyUsage = clientAuth\\n' > '", base, ".ext'; ",
      "openssl req -new -sha256 -key '", base, ".key' -subj '/CN=", common_name, "' -out '",
      base, ".csr'; ",
      "openssl x509 -req -sha256 -days 2 -in '", base, ".csr' -CA ca.pem -CAkey ca.key ",
      "-set_serial 0x$(openssl rand -hex 16) -extfile '", base, ".ext' -out '", base,
      ".pem' 2>/dev/null");
  const int rc = std::system(absl::StrCat("bash -c \"", script, "\"").c_str());
  if (rc != 0) return absl::InternalError(absl::StrCat("issuing client certificate ", name, " failed"));
  return absl::OkStatus();
}

void TerminateAndReap(pid_t pid, absl::Duration grace) {
  ::kill(pid, SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (absl::Now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

}  // namespace ksef::testing
