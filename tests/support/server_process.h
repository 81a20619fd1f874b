// ServerProcess: runs the real ksef-hsmd binary as a child process for
// end-to-end tests, with stderr captured to a log file.
#ifndef KSEF_TESTS_SUPPORT_SERVER_PROCESS_H_
#define KSEF_TESTS_SUPPORT_SERVER_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ksef::testing {

class ServerProcess {
 public:
  // Starts `ksef-hsmd --config config_path` and waits until its log says it
  // is serving (returns the port) or it exits (FAILED_PRECONDITION with the
  // exit code and the log).
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& config_path, const std::string& log_path,
      absl::Duration timeout = absl::Seconds(30));
  // Starts `ksef-hsmd --config config_path` and returns as soon as its log
  // (from this start on) contains `log_text` (port() is then 0), or it exits
  // (FAILED_PRECONDITION with the exit code and the log): to act on a server
  // that is still starting.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> StartUntilLog(
      const std::string& config_path, const std::string& log_path, const std::string& log_text,
      absl::Duration timeout = absl::Seconds(30));
  ~ServerProcess();  // SIGKILLs a process still running

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits for exit; returns the exit code (128+sig if killed).
  int Stop(int signal, absl::Duration timeout = absl::Seconds(30));
  std::string Log() const;

  // Path of the built ksef-hsmd (from KSEF_BUILD_DIR set by ctest).
  static std::string BinaryPath();
  // Runs ksef-hsmd to completion (for start-up failures); returns exit code.
  static int RunToExit(const std::string& config_path, const std::string& log_path,
                       absl::Duration timeout = absl::Seconds(30));

 private:
  ServerProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  // Spawns the server; returns once `ready` finds what it looks for in the
  // log written since the spawn (and sets port_ from it).
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Launch(
      const std::string& config_path, const std::string& log_path, absl::Duration timeout,
      const std::function<bool(const std::string& log, int* port)>& ready);
  pid_t pid_;
  std::string log_path_;
  int port_ = 0;
  bool exited_ = false;
};

// Sends SIGTERM to the child `pid`, SIGKILL if it has not exited after
// `grace`, and reaps it.
void TerminateAndReap(pid_t pid, absl::Duration grace);

// Writes a policy file that grants every role on every key to the dev-pki
// client certificate (CN=ksef-hsm-cli, pki/client.pem), plus `extra` lines.
void WriteFullAccessPolicy(const std::string& path, const std::string& extra = "");

// Issues <pki_dir>/<name>.pem and <name>.key: a client certificate with
// subject CN=<common_name>, signed by the dev-pki CA in `pki_dir`.
absl::Status IssueClientCertificate(const std::string& pki_dir, const std::string& name,
                                    const std::string& common_name);

}  // namespace ksef::testing

#endif  // KSEF_TESTS_SUPPORT_SERVER_PROCESS_H_
