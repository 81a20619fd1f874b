// ksef-hsmd: the ksef-hsm signing service.
//
//   ksef-hsmd --config /etc/ksef-hsm/ksef-hsmd.conf
//   ksef-hsmd --config FILE --check-config   # validate and exit
//   ksef-hsmd --version
//
// SIGTERM / SIGINT: graceful shutdown (exit 0); during start-up, start-up
// stops at its next step or token object and the process exits 128 + the
// signal number (143 for SIGTERM, 130 for SIGINT) with the log line "stopped
// during start-up". Start-up failures exit 1 with one line that says what to
// fix.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/build_info.h"
#include "common/files.h"
#include "common/log.h"
#include "metrics/metrics.h"
#include "service/config.h"
#include "service/daemon_usage.h"
#include "service/server.h"

namespace {

std::string Usage() { return std::string(ksef::service::DaemonUsage()); }

// The command line: --config FILE and --check-config (or --help,
// --version). Returns the exit code when the process should stop here
// (usage or version printed), else nullopt.
std::optional<int> ParseArgs(int argc, char** argv, std::string& config_path,
                             bool& check_only) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(9);
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(Usage().c_str(), stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("%s\n", ksef::build_info::VersionLine("ksef-hsmd").c_str());
      return 0;
    } else {
      std::fprintf(stderr, "ksef-hsmd: unknown argument '%s'\n\n%s", arg.c_str(),
                   Usage().c_str());
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "ksef-hsmd: --config FILE is required\n\n%s", Usage().c_str());
    return 2;
  }
  return std::nullopt;
}

// --check-config: the files start-up would refuse, so that a check passes
// only if a start can.
int CheckConfig(const ksef::service::ServerConfig& config, const std::string& config_path) {
  absl::Status files = ksef::CheckTrustedFile(config.pin_file, "pin_file", /*secret=*/true);
  if (files.ok() && !config.policy_file.empty()) {
    files = ksef::CheckTrustedFile(config.policy_file, "policy_file", /*secret=*/false);
  }
  if (!files.ok()) {
    std::fprintf(stderr, "ksef-hsmd: %s\n", std::string(files.message()).c_str());
    return 1;
  }
  std::fprintf(stdout, "ksef-hsmd: %s is valid\n", config_path.c_str());
  return 0;
}

// How long a stop signal during start-up waits for Server::Start to notice
// it before the process exits at once (see SignalThread).
constexpr absl::Duration kStartupStopGrace = absl::Seconds(1);

// The process's one signal-taking thread (sigwait on `signals`, blocked in
// every thread), from before start-up to shutdown. A stop signal (SIGTERM,
// SIGINT) before the server is published sets the flag Server::Start polls;
// if start-up has not looked at it within kStartupStopGrace (it is inside one
// long call it cannot leave: C_Initialize reading a large token, a find, a
// wait for another replica's lock), the process exits 128 + signal at once,
// without cleanup. That is safe for the same reason a SIGKILL at start-up
// is: what start-up writes (registry rows, the audit key, the removal of
// debris) is made to survive a crash at any point, and the next start
// completes it. After the server is published, a stop signal shuts it down. SIGHUP reloads the policy once the server
// runs (one during start-up is applied when it is published: the policy file
// may have been read before the signal).
class SignalThread {
 public:
  explicit SignalThread(sigset_t signals) : signals_(signals), thread_([this] { Run(); }) {}
  ~SignalThread() { Join(); }
  // Waits for the thread: it returns after the first stop signal (or Abandon).
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

  // The stop signal received so far (0: none).
  int stop_signal() const { return stop_signal_.load(); }

  // Server::Start's stop flag: true once a stop signal came. A true answer
  // means start-up has noticed the stop: from then on it tears down at its
  // own pace (no forced exit).
  bool StopRequested() {
    if (stop_signal() == 0) return false;
    absl::MutexLock lock(&mu_);
    noticed_ = true;
    return true;
  }

  // The server is running: signals go to it from now on. A stop that came
  // before is acted on here.
  void Publish(ksef::service::Server* server) {
    bool reload = false;
    {
      absl::MutexLock lock(&mu_);
      server_ = server;
      reload = std::exchange(reload_pending_, false);
    }
    if (reload) server->ReloadPolicy().IgnoreError();  // logged by the server
    if (stop_signal() != 0) server->Shutdown();
  }

  // Start-up failed or was stopped: no server will come. Ends the thread
  // (woken by a signal sent to it alone) unless a stop signal ended it.
  void Abandon() {
    absl::MutexLock lock(&mu_);
    abandoned_ = true;
    if (running_) pthread_kill(thread_.native_handle(), SIGTERM);
  }

 private:
  static const char* Name(int sig) { return sig == SIGTERM ? "SIGTERM" : "SIGINT"; }

  void Run() {
    ksef::service::Server* stop = nullptr;
    while (true) {
      int sig = 0;
      sigwait(&signals_, &sig);
      absl::MutexLock lock(&mu_);
      if (abandoned_) break;
      if (sig == SIGHUP) {
        if (server_ == nullptr) {
          ksef::LogInfo("received SIGHUP during start-up: the policy is reloaded once serving");
          reload_pending_ = true;
        } else {
          ksef::LogInfo("received SIGHUP: reloading the policy file");
          server_->ReloadPolicy().IgnoreError();  // logged; the old policy stays on error
        }
        continue;
      }
      stop_signal_ = sig;
      ksef::LogInfo("received ", Name(sig), server_ == nullptr ? " during start-up" : "");
      stop = server_;
      if (stop == nullptr) ExitIfStartupStuck(sig);
      break;
    }
    if (stop != nullptr) stop->Shutdown();  // outside mu_: it waits for calls in flight
    absl::MutexLock lock(&mu_);
    running_ = false;
  }

  // Called with mu_ held: waits (releasing it) until start-up noticed the stop
  // (StopRequested), published the server or gave up; else exits.
  void ExitIfStartupStuck(int sig) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto settled = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return noticed_ || server_ != nullptr || abandoned_;
    };
    if (mu_.AwaitWithTimeout(absl::Condition(&settled), kStartupStopGrace)) return;
    ksef::LogWarning("stopped during start-up (", Name(sig), "; start-up did not notice it within ",
                     absl::FormatDuration(kStartupStopGrace),
                     ": inside a PKCS#11 call or a lock wait it cannot leave): exit ", 128 + sig,
                     " now, without cleanup; the next start completes what this one began");
    std::fflush(nullptr);
    std::_Exit(128 + sig);
  }

  sigset_t signals_;
  absl::Mutex mu_;
  ksef::service::Server* server_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool reload_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool abandoned_ ABSL_GUARDED_BY(mu_) = false;
  bool noticed_ ABSL_GUARDED_BY(mu_) = false;  // start-up saw the stop
  bool running_ ABSL_GUARDED_BY(mu_) = true;
  std::atomic<int> stop_signal_{0};
  std::thread thread_;  // last: starts once the members above exist
};

// Starts the server and serves until SIGTERM/SIGINT; SIGHUP reloads the
// policy. `signals` are blocked in every thread and taken by SignalThread,
// which runs before the token is opened, so a stop during start-up is honoured.
int Serve(const ksef::service::ServerConfig& config, const sigset_t& signals) {
  SignalThread signal_thread(signals);
  auto server = ksef::service::Server::Start(
      config, [&signal_thread] { return signal_thread.StopRequested(); });
  if (!server.ok()) {
    signal_thread.Abandon();
    const int sig = signal_thread.stop_signal();
    if (sig != 0 && absl::IsCancelled(server.status())) {
      ksef::LogInfo("stopped during start-up (", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                    "; ", server.status().message(), "): exit ", 128 + sig);
      return 128 + sig;
    }
    ksef::LogError("start-up failed: ", server.status().ToString());
    return 1;
  }
  (*server)->metrics().SetBuildInfo(std::string(ksef::build_info::Version()),
                                    std::string(ksef::build_info::GitRevision()));
  signal_thread.Publish(server->get());
  (*server)->Wait();
  signal_thread.Join();  // it may still be returning from Shutdown()
  server->reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything this process creates is private to the service user: the
  // SQLite registry and audit log (SQLite creates them 0644 less the umask),
  // SoftHSM2's object files when it creates a key, and any file a library
  // writes later. Explicit modes (common/sqlite.h, common/files.h) do not
  // cover files made by code we do not own, so the umask is the backstop.
  ::umask(077);
  // Debian builds abseil without NDEBUG, which turns on absl::Mutex's runtime
  // deadlock detection: every lock and unlock then updates one process-wide
  // lock graph (absl's GraphCycles) under a global lock, on every call's hot
  // path. Lock order is checked before run time instead: clang's
  // -Wthread-safety-beta (ABSL_ACQUIRED_AFTER) and ThreadSanitizer, stage 4 of
  // scripts/test.sh.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::string config_path;
  bool check_only = false;
  if (std::optional<int> exit_code = ParseArgs(argc, argv, config_path, check_only)) {
    return *exit_code;
  }
  auto config = ksef::service::LoadServerConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "ksef-hsmd: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  ksef::LogLevel level;
  if (ksef::ParseLogLevel(config->log_level, &level)) ksef::SetLogLevel(level);
  ksef::SetLogJson(config->log_format == "json");
  if (check_only) return CheckConfig(*config, config_path);

  // Signals are taken by one thread with sigwait; block them everywhere else
  // (threads started later inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return Serve(*config, signals);
}
