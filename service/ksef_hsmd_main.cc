// ksef-hsmd: the ksef-hsm signing service.
//
//   ksef-hsmd --config /etc/ksef-hsm/ksef-hsmd.conf
//   ksef-hsmd --config FILE --check-config   # validate and exit
//   ksef-hsmd --version
//
// SIGTERM / SIGINT: graceful shutdown (exit 0). Start-up failures exit 1 with
// one line that says what to fix.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/build_info.h"
#include "common/files.h"
#include "common/log.h"
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

// Starts the server and serves until SIGTERM/SIGINT; SIGHUP reloads the
// policy. `signals` are blocked in every thread and taken here by sigwait.
int Serve(const ksef::service::ServerConfig& config, sigset_t& signals) {
  auto server = ksef::service::Server::Start(config);
  if (!server.ok()) {
    ksef::LogError("start-up failed: ", server.status().ToString());
    return 1;
  }
  std::thread waiter([&signals, s = server->get()] {
    while (true) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (sig == SIGHUP) {
        ksef::LogInfo("received SIGHUP: reloading the policy file");
        s->ReloadPolicy().IgnoreError();  // logged; the old policy stays on error
        continue;
      }
      ksef::LogInfo("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      s->Shutdown();
      return;
    }
  });
  (*server)->Wait();
  waiter.join();
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
