#include "tests/support/softhsm_token.h"

#include <openssl/rand.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"

namespace ksef::testing {

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf;
  std::string out;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = ::pclose(pipe);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", prefix, "-XXXXXX");
  char* made = ::mkdtemp(tmpl.data());
  return made != nullptr ? std::string(made) : std::string();
}

absl::StatusOr<Pkcs11Backend> TestToken::Backend() {
  const char* name = std::getenv("KSEF_TEST_PKCS11_BACKEND");
  if (name == nullptr || *name == '\0' || std::string(name) == "softhsm2") {
    return Pkcs11Backend::kSoftHsm2;
  }
  if (std::string(name) == "tpm2") return Pkcs11Backend::kTpm2;
  return absl::InvalidArgumentError(absl::StrCat("KSEF_TEST_PKCS11_BACKEND=", name,
                                                 ": expected softhsm2 (default) or tpm2"));
}

std::string TestToken::ModulePath() {
  if (IsTpm2()) return "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so";
  return "/usr/lib/softhsm/libsofthsm2.so";
}

void TestToken::MakePins(const std::string& label) {
  label_ = label;
  pin_file_ = dir_ + "/pin";
  unsigned char rnd[24];
  RAND_bytes(rnd, sizeof(rnd));
  std::string hex = HexUpper(std::string(reinterpret_cast<char*>(rnd), sizeof(rnd)));
  pin_ = hex.substr(0, 16);
  so_pin_ = hex.substr(16, 16);
  {
    mode_t old = ::umask(077);
    std::ofstream pin(pin_file_);
    pin << pin_ << "\n";
    ::umask(old);
  }
  ::chmod(pin_file_.c_str(), 0600);
}

absl::StatusOr<std::unique_ptr<TestToken>> TestToken::Create(const std::string& label) {
  auto backend = Backend();
  if (!backend.ok()) return backend.status();
  std::unique_ptr<TestToken> t(new TestToken());
  t->dir_ = MakeTempDir(*backend == Pkcs11Backend::kTpm2 ? "ksef-tpm2" : "ksef-softhsm");
  if (t->dir_.empty()) return absl::InternalError("mkdtemp failed");
  t->MakePins(label);
  absl::Status s = *backend == Pkcs11Backend::kTpm2 ? t->InitTpm2() : t->InitSoftHsm2();
  if (!s.ok()) return s;
  return t;
}

absl::Status TestToken::InitSoftHsm2() {
  if (::access(ModulePath().c_str(), R_OK) != 0 || RunCommand("command -v softhsm2-util") != 0) {
    return absl::FailedPreconditionError(
        "SoftHSM2 is not installed; run ./scripts/install-deps.sh (apt-get install softhsm2)");
  }
  token_dir_ = dir_ + "/tokens";
  conf_path_ = dir_ + "/softhsm2.conf";
  std::filesystem::create_directories(token_dir_);
  {
    std::ofstream conf(conf_path_);
    conf << "directories.tokendir = " << token_dir_ << "\n"
         << "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
  }
  ::setenv("SOFTHSM2_CONF", conf_path_.c_str(), 1);
  std::string out;
  int rc = RunCommand(absl::StrCat("softhsm2-util --init-token --free --label '", label_,
                                   "' --pin ", pin_, " --so-pin ", so_pin_),
                      &out);
  if (rc != 0) return absl::InternalError(absl::StrCat("softhsm2-util --init-token: ", out));
  return absl::OkStatus();
}

TestToken::~TestToken() {
  StopTpm2();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

}  // namespace ksef::testing
