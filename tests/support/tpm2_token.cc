// The "tpm2" backend of TestToken (softhsm_token.h): tpm2-pkcs11 over a
// private swtpm TPM 2.0 simulator, the way a server uses a real TPM:
//
//   test process / ksef-hsmd / pkcs11-tool
//        │ TCTI "tabrmd" (D-Bus, private session bus in the temp dir)
//   tpm2-abrmd  (resource manager: swaps objects and sessions in and out)
//        │ TCTI "swtpm" (TCP, 127.0.0.1:P and P+1)
//   swtpm       (state in <dir>/swtpm-state)
//
// The resource manager is not optional: the TPM has three transient object
// slots, and tpm2-pkcs11 keeps its primary key, the token's wrapping key and
// each used key loaded, so without one the second key of a process already
// fails with TPM_RC_OBJECT_MEMORY (in production /dev/tpmrm0 does the same).
// It also lets several processes share the TPM (swtpm serves one connection).
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
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/softhsm_token.h"

namespace ksef::testing {
namespace {

constexpr char kInstallHint[] =
    "KSEF_TEST_PKCS11_BACKEND=tpm2 needs tpm2-pkcs11, swtpm, tpm2-abrmd, dbus-daemon, tpm2-tools "
    "and pkcs11-tool; run ./scripts/install-deps.sh (apt-get install libtpm2-pkcs11-1 swtpm "
    "tpm2-abrmd libtss2-tcti-tabrmd0 libtss2-tcti-swtpm0 dbus-daemon tpm2-tools opensc)";

// A socket bound to 127.0.0.1:port (0 = any free port); -1 on error.
int BindLocal(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A port P with P and P+1 free on 127.0.0.1 (the swtpm TCTI wants the control
// channel on P+1), or 0. Free when probed only: the caller retries if swtpm
// then cannot bind it.
int FreePortPair() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int first = BindLocal(0);
    if (first < 0) continue;
    sockaddr_in a{};
    socklen_t len = sizeof(a);
    ::getsockname(first, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);
    int second = port < 65535 ? BindLocal(port + 1) : -1;
    ::close(first);
    if (second >= 0) {
      ::close(second);
      return port;
    }
  }
  return 0;
}

// Starts argv[0] (found in PATH) with stdout/stderr appended to `log`;
// returns its pid or -1. The process gets SIGTERM when the thread that
// started it ends (TestToken is created on the test's main thread).
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    // A test that crashes or is killed by ctest's timeout takes it along.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// Polls `ready` every 20 ms for up to 10 s while `pid` runs. False if the
// process exited or the time ran out (the process is then killed).
template <typename Fn>
bool WaitReady(pid_t pid, Fn ready) {
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    if (ready()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return false;
}

// True once something accepts TCP connections on 127.0.0.1:port.
bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

absl::Status TestToken::InitTpm2() {
  for (const char* tool : {"swtpm", "tpm2-abrmd", "dbus-daemon", "tpm2_getrandom", "pkcs11-tool"}) {
    if (RunCommand(absl::StrCat("PATH=$PATH:/usr/sbin command -v ", tool)) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(tool, " not found: ", kInstallHint));
    }
  }
  if (::access(ModulePath().c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(ModulePath(), " missing: ", kInstallHint));
  }
  const std::string state = dir_ + "/swtpm-state", store = dir_ + "/tpm2-pkcs11";
  std::filesystem::create_directories(state);
  std::filesystem::create_directories(store);

  // 1. swtpm on free ports (a race with another test is retried).
  int port = 0;
  for (int attempt = 0; attempt < 5 && tpm2_pids_.empty(); ++attempt) {
    port = FreePortPair();
    if (port == 0) continue;
    pid_t pid = Spawn({"swtpm", "socket", "--tpm2", "--server",
                       absl::StrCat("type=tcp,port=", port, ",bindaddr=127.0.0.1"), "--ctrl",
                       absl::StrCat("type=tcp,port=", port + 1, ",bindaddr=127.0.0.1"),
                       "--tpmstate", "dir=" + state, "--flags", "not-need-init,startup-clear"},
                      dir_ + "/swtpm.log");
    if (pid > 0 && WaitReady(pid, [&] { return Accepts(port + 1); })) tpm2_pids_.push_back(pid);
  }
  if (tpm2_pids_.empty()) return absl::InternalError("swtpm did not start; see " + dir_);

  // 2. A private session bus for the resource manager and its clients.
  const std::string bus = dir_ + "/dbus.socket";
  pid_t dbus =
      Spawn({"dbus-daemon", "--session", "--address=unix:path=" + bus, "--nofork", "--nopidfile"},
            dir_ + "/dbus.log");
  if (dbus <= 0 || !WaitReady(dbus, [&] { return std::filesystem::exists(bus); })) {
    return absl::InternalError("dbus-daemon did not start; see " + dir_ + "/dbus.log");
  }
  tpm2_pids_.push_back(dbus);
  ::setenv("DBUS_SESSION_BUS_ADDRESS", ("unix:path=" + bus).c_str(), 1);

  // 3. tpm2-abrmd between them; ready once a TPM command goes through it.
  const std::string tcti = "tabrmd:bus_type=session";
  ::setenv("TPM2TOOLS_TCTI", tcti.c_str(), 1);  // tpm2_* tools (lockout, debugging)
  // --max-transients: tpm2-pkcs11 keeps every key a process created or used
  // loaded (two objects per key pair); abrmd's default of 27 per connection
  // stops a process at about 12 keys; 100 is its maximum (docs/operations.md).
  pid_t abrmd =
      Spawn({"/usr/sbin/tpm2-abrmd", "--session", "--allow-root", "--flush-all",
             "--max-transients=100", absl::StrCat("--tcti=swtpm:host=127.0.0.1,port=", port)},
            dir_ + "/abrmd.log");
  if (abrmd <= 0 ||
      !WaitReady(abrmd, [] { return RunCommand("tpm2_getrandom 4 >/dev/null") == 0; })) {
    return absl::InternalError("tpm2-abrmd did not start; see " + dir_ + "/abrmd.log");
  }
  tpm2_pids_.push_back(abrmd);

  // 4. The token, through the module itself (C_InitToken, C_InitPIN).
  ::setenv("TPM2_PKCS11_STORE", store.c_str(), 1);
  ::setenv("TPM2_PKCS11_TCTI", tcti.c_str(), 1);
  const std::string tool = absl::StrCat("pkcs11-tool --module ", ModulePath());
  std::string out;
  if (RunCommand(absl::StrCat(tool, " --init-token --label '", label_, "' --so-pin ", so_pin_),
                 &out) != 0) {
    return absl::InternalError(absl::StrCat("pkcs11-tool --init-token (tpm2): ", out));
  }
  if (RunCommand(absl::StrCat(tool, " --token-label '", label_, "' --login --login-type so",
                              " --so-pin ", so_pin_, " --init-pin --pin ", pin_),
                 &out) != 0) {
    return absl::InternalError(absl::StrCat("pkcs11-tool --init-pin (tpm2): ", out));
  }
  return absl::OkStatus();
}

absl::Status TestToken::ClearTpm2Lockout() const {
  if (tpm2_pids_.empty()) return absl::FailedPreconditionError("not a tpm2 test token");
  std::string out;
  if (RunCommand("tpm2_dictionarylockout --clear-lockout", &out) != 0) {
    return absl::InternalError("tpm2_dictionarylockout --clear-lockout: " + out);
  }
  return absl::OkStatus();
}

void TestToken::StopTpm2() {
  for (auto it = tpm2_pids_.rbegin(); it != tpm2_pids_.rend(); ++it) {
    ::kill(*it, SIGTERM);
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (::waitpid(*it, nullptr, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        ::kill(*it, SIGKILL);
        ::waitpid(*it, nullptr, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  tpm2_pids_.clear();
}

}  // namespace ksef::testing
